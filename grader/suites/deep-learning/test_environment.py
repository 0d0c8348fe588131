"""Hidden suite for deep-learning/environment: `get_device`, `seed_everything`, `describe_environment`.

The device logic is checked on any machine by swapping ``torch.cuda.is_available`` and
``torch.backends.mps.is_available`` inside the learner's kernel for the duration of one call.
Seeding is checked against the generators' own reference streams, and end to end by two
seeded runs of a small training loop (on the ``device`` fixture) that must agree bit for bit.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import torch

from grader.engine.remote import RemoteRef
from grader.helpers import assert_equal, expect_raises, fail


def _probe(sub: Any, source: str) -> Any:
    """A function defined by ``source`` (it must define ``probe``), built inside the learner's kernel."""
    return sub.eval(f"(lambda ns: (exec({source!r}, ns), ns['probe'])[1])({{}})")


# Calls get_device with torch's availability checks replaced, and always puts them back.
_DEVICE_PROBE = """
def probe(get_device, prefer, cuda, mps):
    import torch
    saved = torch.cuda.is_available, torch.backends.mps.is_available
    if cuda is not None:
        torch.cuda.is_available = lambda: cuda
    if mps is not None:
        torch.backends.mps.is_available = lambda: mps
    try:
        dev = get_device() if prefer is None else get_device(prefer)
    finally:
        torch.cuda.is_available, torch.backends.mps.is_available = saved
    return type(dev).__module__ + "." + type(dev).__qualname__, str(dev)
"""

# Scrambles every global generator, seeds, and draws a few numbers from each.
_DRAW_PROBE = """
def probe(seed_everything, seed):
    import random
    import numpy as np
    import torch
    random.seed(None)
    np.random.seed(None)
    torch.seed()
    seed_everything(seed)
    return [random.random() for _ in range(3)], np.random.rand(3), torch.rand(3, dtype=torch.float64)
"""

# Undoes the deterministic settings, seeds, and reports them.
_FLAGS_PROBE = """
def probe(seed_everything, seed):
    import os
    import torch
    torch.backends.cudnn.deterministic = False
    torch.backends.cudnn.benchmark = True
    torch.use_deterministic_algorithms(False)
    os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    seed_everything(seed)
    return {
        "cudnn.deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn.benchmark": bool(torch.backends.cudnn.benchmark),
        "deterministic_algorithms": bool(torch.are_deterministic_algorithms_enabled()),
        "CUBLAS_WORKSPACE_CONFIG": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
    }
"""

# Seeds every generator with a known seed, calls seed_everything with a bad seed, and draws.
_BAD_SEED_PROBE = """
def probe(seed_everything, bad, known):
    import random
    import numpy as np
    import torch
    random.seed(known)
    np.random.seed(known)
    torch.manual_seed(known)
    try:
        seed_everything(bad)
        raised = None
    except NotImplementedError:
        raise  # the untouched stub: not attempted
    except Exception as exc:
        raised = type(exc).__name__
    return raised, random.random(), float(np.random.rand()), float(torch.rand(1, dtype=torch.float64))
"""

# A small training loop that uses all three generators: NumPy makes the data, torch the weights,
# the targets' noise and dropout, Python's random the minibatch order.
_TRAIN_PROBE = """
def probe(seed_everything, seed, device):
    import random
    import numpy as np
    import torch
    random.seed(None)
    np.random.seed(None)
    torch.seed()
    seed_everything(seed)
    X = torch.tensor(np.random.randn(64, 5), dtype=torch.float32).to(device)
    y = X @ torch.randn(5, 1).to(device) + 0.1 * torch.randn(64, 1).to(device)
    model = torch.nn.Sequential(
        torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Dropout(0.2), torch.nn.Linear(16, 1)
    ).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    order = list(range(64))
    losses = []
    for _ in range(4):
        random.shuffle(order)
        for i in range(0, 64, 16):
            idx = torch.tensor(order[i:i + 16], device=device)
            loss = torch.nn.functional.mse_loss(model(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses
"""

_ORDER = (
    "prefer='cuda' (the default) tries CUDA, then MPS, then the CPU; prefer='mps' tries MPS, then CUDA, then "
    "the CPU; prefer='cpu' always gives the CPU. Ask torch.cuda.is_available() and "
    "torch.backends.mps.is_available() each time get_device runs."
)


def _device(sub: Any, prefer: str | None, cuda: bool | None = None, mps: bool | None = None) -> str:
    __tracebackhide__ = True
    kind, name = _probe(sub, _DEVICE_PROBE)(sub.get_device, prefer, cuda, mps)
    if kind != "torch.device":
        fail(
            f"`get_device` returned a {kind} ({name!r}), expected a torch.device.",
            hint="Return torch.device('cuda'), torch.device('mps') or torch.device('cpu'), not a string.",
        )
    return name


@pytest.mark.public
@pytest.mark.points(1)
def test_get_device_on_this_machine(sub: Any, device: str) -> None:
    cuda = bool(sub.eval("lambda: __import__('torch').cuda.is_available()")())
    mps = bool(sub.eval("lambda: __import__('torch').backends.mps.is_available()")())
    expected = "cuda" if cuda else "mps" if mps else "cpu"
    got = _device(sub, None)
    if device == "cuda" and got != "cuda":
        fail(f"This machine has a CUDA GPU, but `get_device()` returned {got!r}.", hint=_ORDER)
    assert_equal(got, expected, name="str(get_device())", hint=_ORDER)
    assert_equal(_device(sub, "cpu"), "cpu", name="str(get_device('cpu'))", hint=_ORDER)
    with expect_raises(
        "ValueError",
        name="get_device('gpu')",
        hint="prefer must be 'cuda', 'mps' or 'cpu'; raise ValueError for anything else.",
    ):
        sub.get_device("gpu")


@pytest.mark.points(1.5)
def test_get_device_fallback_order(sub: Any) -> None:
    cases = [
        # prefer, cuda available, mps available, expected
        (None, True, True, "cuda"),
        ("cuda", True, False, "cuda"),
        (None, False, True, "mps"),
        (None, False, False, "cpu"),
        ("cpu", True, True, "cpu"),
        ("mps", True, True, "mps"),
        ("mps", True, False, "cuda"),
        ("mps", False, False, "cpu"),
    ]
    for prefer, cuda, mps, expected in cases:
        call = "get_device()" if prefer is None else f"get_device({prefer!r})"
        got = _device(sub, prefer, cuda, mps)
        if got != expected:
            fail(
                f"With CUDA {'available' if cuda else 'unavailable'} and MPS {'available' if mps else 'unavailable'}, "
                f"`{call}` returned {got!r}, expected {expected!r}.",
                hint=_ORDER + (" An index such as 'cuda:0' is not wanted." if got.startswith(expected + ":") else ""),
            )


@pytest.mark.public
@pytest.mark.points(2)
def test_seed_everything_seeds_python_numpy_and_torch(sub: Any, seed: int) -> None:
    probe = _probe(sub, _DRAW_PROBE)
    for s in (seed % 2**32, 0):
        py, np_draw, torch_draw = probe(sub.seed_everything, s)
        rnd = random.Random(s)  # noqa: S311 - the reference stream of Python's generator
        expected_py = [rnd.random() for _ in range(3)]
        if [float(v) for v in py] != expected_py:
            fail(
                f"After seed_everything({s}), Python's random.random() gave {py[0]!r}, expected {expected_py[0]!r}.",
                hint="Seed Python's own generator: random.seed(seed).",
            )
        expected_np = np.random.RandomState(s).rand(3)
        if not np.array_equal(np.asarray(np_draw), expected_np):
            fail(
                f"After seed_everything({s}), np.random.rand(3) gave {np.asarray(np_draw)}, expected {expected_np}.",
                hint="Seed NumPy's global generator with np.random.seed(seed): np.random.rand, np.random.permutation "
                "and friends use it (a np.random.default_rng(seed) you create does not seed them).",
            )
        expected_torch = torch.rand(3, dtype=torch.float64, generator=torch.Generator().manual_seed(s))
        if not torch.equal(torch_draw, expected_torch):
            fail(
                f"After seed_everything({s}), torch.rand(3) gave {torch_draw.tolist()}, "
                f"expected {expected_torch.tolist()}.",
                hint="Seed torch with torch.manual_seed(seed) (it seeds the CPU and every CUDA generator).",
            )


@pytest.mark.points(1)
def test_seed_everything_sets_deterministic_flags_and_checks_the_seed(sub: Any) -> None:
    flags = _probe(sub, _FLAGS_PROBE)(sub.seed_everything, 1234)
    expected = {"cudnn.deterministic": True, "cudnn.benchmark": False, "deterministic_algorithms": True}
    hints = {
        "cudnn.deterministic": "Set torch.backends.cudnn.deterministic = True.",
        "cudnn.benchmark": "Set torch.backends.cudnn.benchmark = False: autotuning picks kernels by timing.",
        "deterministic_algorithms": "Call torch.use_deterministic_algorithms(True).",
    }
    for key, want in expected.items():
        if flags[key] != want:
            fail(f"After seed_everything, torch.backends {key} is {flags[key]}, expected {want}.", hint=hints[key])
    if flags["CUBLAS_WORKSPACE_CONFIG"] not in (":4096:8", ":16:8"):
        fail(
            f"After seed_everything, os.environ['CUBLAS_WORKSPACE_CONFIG'] is {flags['CUBLAS_WORKSPACE_CONFIG']!r}, "
            "expected ':4096:8'.",
            hint="Deterministic matrix products on CUDA need os.environ['CUBLAS_WORKSPACE_CONFIG'] = ':4096:8'.",
        )
    for bad in (-1, 2**32, 1.5, True):
        with expect_raises(
            "ValueError",
            name=f"seed_everything({bad!r})",
            hint="Accept only an int with 0 <= seed < 2**32 (not a bool or a float); raise ValueError otherwise.",
        ):
            sub.seed_everything(bad)


@pytest.mark.points(1)
def test_a_bad_seed_changes_no_generator(sub: Any, seed: int) -> None:
    probe = _probe(sub, _BAD_SEED_PROBE)
    known = seed % 2**31
    for bad in (-1, 2**32, 2.5):
        raised, py, np_draw, torch_draw = probe(sub.seed_everything, bad, known)
        if raised is None:
            return  # test_seed_everything_sets_deterministic_flags_and_checks_the_seed reports the missing error
        expected = (
            random.Random(known).random(),  # noqa: S311 - the reference stream of Python's generator
            float(np.random.RandomState(known).rand()),
            float(torch.rand(1, dtype=torch.float64, generator=torch.Generator().manual_seed(known))),
        )
        for what, got, want in zip(
            ("Python's random", "NumPy's global generator", "torch"), (py, np_draw, torch_draw), expected, strict=True
        ):
            if float(got) != want:
                fail(
                    f"seed_everything({bad!r}) raised {raised}, but it had already reseeded {what} before it did.",
                    hint="Check the seed first and raise ValueError before anything is seeded.",
                )


@pytest.mark.points(2)
def test_two_seeded_training_runs_are_bit_identical(sub: Any, seed: int, device: str) -> None:
    probe = _probe(sub, _TRAIN_PROBE)
    s = seed % 2**32
    first = probe(sub.seed_everything, s, device)
    second = probe(sub.seed_everything, s, device)
    other = probe(sub.seed_everything, (s + 1) % 2**32, device)
    hint = (
        "The loop draws its data from NumPy (np.random.randn), its weights, noise and dropout from torch, and its "
        "minibatch order from Python's random.shuffle: seed_everything must call random.seed(seed), "
        "np.random.seed(seed) and torch.manual_seed(seed)."
    )
    if len(first) != len(second) or first != second:
        step = next((i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b), 0)
        fail(
            f"Two runs of the same training loop after seed_everything({s}) on {device} gave different losses "
            f"(first at step {step}: {first[step]!r} vs {second[step]!r}); they must be bit-identical.",
            hint=hint,
        )
    if other == first:
        fail(
            f"seed_everything({s}) and seed_everything({s + 1}) gave exactly the same training run.",
            hint="Use the seed you are given: different seeds must give different random numbers.",
        )


@pytest.mark.public
@pytest.mark.points(1.5)
def test_describe_environment(sub: Any) -> None:
    truth = _probe(
        sub,
        """
def probe():
    import platform
    import numpy as np
    import torch
    cuda = torch.cuda.is_available()
    return {
        "python": platform.python_version(),
        "numpy": str(np.__version__),
        "torch": str(torch.__version__),
        "device": "cuda" if cuda else "mps" if torch.backends.mps.is_available() else "cpu",
        "cuda_available": bool(cuda),
        "num_threads": int(torch.get_num_threads()),
    }
""",
    )()
    info = sub.describe_environment()
    if not isinstance(info, dict):
        what = info.type_name if isinstance(info, RemoteRef) else type(info).__name__
        fail(
            f"`describe_environment()` returned a {what}, expected a dict.",
            hint="Return a plain dict of str, bool and int values (use str(device), not the torch.device).",
        )
    hints = {
        "python": "platform.python_version()",
        "numpy": "np.__version__",
        "torch": "torch.__version__",
        "device": "str(get_device())",
        "cuda_available": "torch.cuda.is_available()",
        "num_threads": "torch.get_num_threads()",
    }
    missing = [k for k in truth if k not in info]
    if missing:
        fail(
            f"`describe_environment()` has no key {missing[0]!r} (its keys: {sorted(map(str, info))}).",
            hint="Include the keys " + ", ".join(f"{k!r}" for k in truth) + ".",
        )
    for key, want in truth.items():
        got = info[key]
        if type(got) is not type(want) or got != want:
            shown = f"a {got.type_name}" if isinstance(got, RemoteRef) else repr(got)
            fail(
                f"`describe_environment()[{key!r}]` is {shown}, expected {want!r}.",
                hint=f"Use {hints[key]} (a plain {type(want).__name__}).",
            )
