"""The sandbox's shape: what the kernel can see, in what order bubblewrap builds it, and the fallback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grader.engine import sandbox
from grader.engine.kernel import kernel_env


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
    assert "--bind" not in argv, "the kernel gets no writable view of any host folder"


def test_every_writable_folder_of_the_kernel_is_capped(tmp_path: Path) -> None:
    """Each tmpfs the kernel can write (/tmp, its working folder, its sockets' folder) has a size."""
    argv = sandbox.bwrap_argv(tmp_path, "ml-basics", None, tmp_path / "conn")
    tmpfs = [i for i, a in enumerate(argv) if a == "--tmpfs"]
    assert {argv[i + 1] for i in tmpfs} == {"/tmp", f"{sandbox.ROOT_IN}/submission", sandbox.CONN_IN}  # noqa: S108
    for i in tmpfs:
        assert argv[i - 2] == "--size" and int(argv[i - 1]) <= sandbox.WORKDIR_BYTES, argv[i + 1]


def test_the_kernel_environment_is_an_allow_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets in the grader's environment never reach the kernel, with or without bubblewrap."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    monkeypatch.setenv("UPSTREAM_TOKEN", "upstream_secret")
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    env = kernel_env(tmp_path)
    assert not {"GITHUB_TOKEN", "UPSTREAM_TOKEN", "PYTHONPATH"} & set(env)
    assert "ghp_secret" not in repr(env)
    assert env["OMP_NUM_THREADS"] == "1" and env["HOME"] == str(tmp_path)
    argv = sandbox.bwrap_argv(tmp_path, "ml-basics", None, tmp_path / "conn", env)
    assert "--clearenv" in argv
    after = argv[argv.index("--clearenv") :]
    set_names = [after[i + 1] for i, a in enumerate(after) if a == "--setenv"]
    assert sorted(set_names) == sorted(env)  # exactly the allow-list, HOME replaced by the sandbox's
    assert "JPY_PARENT_PID" not in set_names


def test_an_unknown_or_impossible_sandbox_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown sandbox"):
        sandbox.pick_mode("docker")
    monkeypatch.setattr(sandbox, "bubblewrap_works", lambda: False)
    assert sandbox.pick_mode("auto") == sandbox.RLIMITS
    with pytest.raises(RuntimeError, match="apt-get install bubblewrap"):
        sandbox.pick_mode("bubblewrap")
    assert "Warning" in sandbox.describe(sandbox.RLIMITS)
