"""The sandbox's shape: what the kernel can see, in what order bubblewrap builds it, and the fallback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grader.engine import sandbox


def test_private_tmp_comes_before_every_bind(tmp_path: Path) -> None:
    """A virtualenv in a checkout under /tmp must not be hidden by the sandbox's own /tmp."""
    argv = sandbox.bwrap_argv(tmp_path, "ml-basics", None, tmp_path / "conn")
    tmpfs = argv.index("/tmp", argv.index("--tmpfs"))  # noqa: S108 - the sandbox's own /tmp
    binds = [i for i, a in enumerate(argv) if a in ("--ro-bind", "--bind")]
    python_binds = [i for i in binds if argv[i + 1] in (sys.prefix, sys.base_prefix)]
    assert python_binds and all(i > tmpfs for i in python_binds)


def test_the_kernel_sees_no_repository_path(tmp_path: Path) -> None:
    argv = sandbox.bwrap_argv(tmp_path, "ml-basics", None, tmp_path / "conn")
    repo = str(Path(__file__).resolve().parent.parent)
    sources = [argv[i + 1] for i, a in enumerate(argv) if a in ("--ro-bind", "--bind")]
    visible_repo = [s for s in sources if s == repo or (s.startswith(repo + "/") and not s.startswith(sys.prefix))]
    assert not visible_repo, visible_repo
    assert "--unshare-all" in argv and "--die-with-parent" in argv
    assert argv[argv.index("--unsetenv") + 1] == "JPY_PARENT_PID"


def test_an_unknown_or_impossible_sandbox_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown sandbox"):
        sandbox.pick_mode("docker")
    monkeypatch.setattr(sandbox, "bubblewrap_works", lambda: False)
    assert sandbox.pick_mode("auto") == sandbox.RLIMITS
    with pytest.raises(RuntimeError, match="apt-get install bubblewrap"):
        sandbox.pick_mode("bubblewrap")
    assert "Warning" in sandbox.describe(sandbox.RLIMITS)
