"""Hidden suite for deep-learning/optimizers: `sgd_momentum_step` and `adam_step` against torch.optim.

Each trajectory test runs the learner's step function in a real loop (the gradient is taken at the
learner's current parameter, the state the learner returned is passed back) next to
``torch.optim.SGD`` / ``torch.optim.Adam`` in float64 on the same loss, and compares the parameters
after every step with the CS231n relative error. At the first step that disagrees, the learner's
parameter is compared with known wrong optimisers simulated on the same loss, to name the mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

from grader.helpers import fail, relative_error

TOL = 1e-9  # relative error allowed between the learner's parameters and torch's (float64)
N_STEPS = 20

# Runs in the learner's kernel: deep copies of the inputs, the call, then the inputs as they are
# after the call, and whether the returned param / state are the very objects passed in.
_PURITY_PROBE = """
lambda f, p, g, s, kw: (lambda snap: (lambda before: (lambda out: (
    before, (p, g, s), out, out[0] is p, out[1] is s
))(f(p, g, s, **kw)))(snap(p, g, s)))(
    lambda p, g, s: (p.copy(), g.copy(), {k: (v.copy() if hasattr(v, 'copy') else v) for k, v in s.items()})
)
""".strip()

# Runs in the learner's kernel: a real training loop of len(lrs) steps on the suite's loss. The gradient is
# taken at the learner's current parameter and the learner's own state is passed back; a deep copy of every
# output is kept (so in-place updates cannot rewrite history). It stops after an output it cannot feed back.
_LOOP = """
lambda f, p0, a, c, q, scale, lrs, kw: (lambda np, deepcopy, live, snaps: ([
    (lambda r: (live.__setitem__(0, r), snaps.append(deepcopy(r))))(f(
        live[0][0],
        scale * (a * (np.asarray(live[0][0], dtype=float) - c) + q * np.asarray(live[0][0], dtype=float) ** 3),
        live[0][1], lr=lr, **kw))
    for lr in lrs
    if isinstance(live[0], (tuple, list)) and len(live[0]) == 2 and np.shape(live[0][0]) == np.shape(p0)
    and isinstance(live[0][1], dict)
], snaps)[1])(__import__('numpy'), __import__('copy').deepcopy, [(p0, {})], [])
""".strip()

_SGD_RULE = (
    "g = grad + weight_decay * param; buf = g on the first step, else momentum * buf + g; "
    "d = g + momentum * buf if nesterov else buf; new_param = param - lr * d."
)
_ADAM_RULE = (
    "t += 1; g = grad + weight_decay * param; m = beta1*m + (1-beta1)*g; v = beta2*v + (1-beta2)*g**2; "
    "m_hat = m / (1 - beta1**t); v_hat = v / (1 - beta2**t); new_param = param - lr * m_hat / (sqrt(v_hat) + eps)."
)


# ---------------------------------------------------------------- the loss (grader side, float64)


@dataclass(frozen=True)
class Problem:
    """L(p) = scale * sum(0.5 * a * (p - c)**2 + 0.25 * q * p**4): curved, and different per coordinate."""

    p0: np.ndarray
    a: np.ndarray
    c: np.ndarray
    q: np.ndarray
    scale: float = 1.0

    def grad(self, p: np.ndarray) -> np.ndarray:
        return self.scale * (self.a * (p - self.c) + self.q * p**3)

    def torch_loss(self, p: torch.Tensor) -> torch.Tensor:
        def t(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(x, dtype=torch.float64, device=p.device)

        return self.scale * (0.5 * t(self.a) * (p - t(self.c)) ** 2 + 0.25 * t(self.q) * p**4).sum()


def _problem(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> Problem:
    return Problem(
        p0=rng.normal(size=shape),
        a=rng.uniform(0.5, 3.0, size=shape),
        c=rng.normal(size=shape),
        q=rng.uniform(0.0, 0.3, size=shape),
        scale=scale,
    )


@dataclass
class Step:
    """What torch did at one step: its inputs, its state before, and the parameter after."""

    param: np.ndarray
    grad: np.ndarray
    state: dict[str, Any]
    new_param: np.ndarray
    new_state: dict[str, Any]


def _np_state(state: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in state.items():
        if key == "step":
            out[key] = int(value.item() if isinstance(value, torch.Tensor) else value)
        elif isinstance(value, torch.Tensor):
            out[key] = value.detach().cpu().numpy().copy()
    return out


def _torch_run(
    prob: Problem, opt_cls: type[torch.optim.Optimizer], lrs: list[float], device: str, **kwargs: Any
) -> list[Step]:
    p = torch.tensor(prob.p0, dtype=torch.float64, device=device, requires_grad=True)
    opt = opt_cls([p], lr=lrs[0], **kwargs)
    steps = []
    for lr in lrs:
        for group in opt.param_groups:
            group["lr"] = lr
        before = _np_state(opt.state[p])
        param = p.detach().cpu().numpy().copy()
        opt.zero_grad()
        prob.torch_loss(p).backward()
        assert p.grad is not None
        grad = p.grad.detach().cpu().numpy().copy()
        opt.step()
        steps.append(Step(param, grad, before, p.detach().cpu().numpy().copy(), _np_state(opt.state[p])))
    return steps


# ---------------------------------------------------------------- known wrong updates (diagnostics)


StepFn = Callable[[np.ndarray, np.ndarray, dict[str, Any], float], tuple[np.ndarray, dict[str, Any]]]


def _simulate(prob: Problem, lrs: list[float], step: StepFn) -> list[np.ndarray]:
    """The parameters after each step of a (wrong) optimiser on the suite's loss."""
    p, state, out = prob.p0.copy(), {}, []
    for lr in lrs:
        p, state = step(p, prob.grad(p), state, lr)
        out.append(p.copy())
    return out


def _sgd_slips(momentum: float, wd: float, nesterov: bool) -> list[tuple[StepFn, str]]:
    """Known wrong SGD updates, each with the hint that names it."""

    def sgd(
        *,
        decay_in_grad: bool = True,
        decay_after: bool = False,
        ema: str = "",
        use_nesterov: bool = nesterov,
        mom: float = momentum,
        lr_in_buffer: bool = False,
    ) -> StepFn:
        def step(p: np.ndarray, grad: np.ndarray, state: dict[str, Any], lr: float) -> tuple[np.ndarray, dict]:
            g = grad + wd * p if decay_in_grad else grad
            decay = lr * wd * p if decay_after else 0.0
            if lr_in_buffer:  # the CS231n velocity: v = mom * v - lr * g; p += v
                v = mom * state.get("buf", 0.0) - lr * g
                return p + (mom * v - lr * g if use_nesterov else v) - decay, {"buf": v}
            if "buf" in state:
                buf = mom * state["buf"] + ((1 - mom) if ema else 1.0) * g
            else:
                buf = (1 - mom) * g if ema == "from_zero" else g
            d = g + mom * buf if use_nesterov else buf
            return p - lr * d - decay, {"buf": buf}

        return step

    slips: list[tuple[StepFn, str]] = []
    if wd:
        slips.append(
            (
                sgd(decay_in_grad=False, decay_after=True),
                "You seem to add the weight decay after the momentum. Weight decay is an L2 penalty: add "
                "weight_decay * param to the gradient first, g = grad + weight_decay * param, and use g everywhere.",
            )
        )
        slips.append(
            (
                sgd(decay_after=True),
                "You seem to apply the weight decay twice (to the gradient and to the parameter); add it to the "
                "gradient once: g = grad + weight_decay * param.",
            )
        )
    if nesterov:
        slips.append(
            (
                sgd(use_nesterov=False),
                "With nesterov=True the step is d = g + momentum * buf (the gradient plus the look-ahead), not buf.",
            )
        )
    if momentum:
        slips.append(
            (
                sgd(ema="from_zero"),
                "torch's momentum buffer is buf = momentum * buf + g, with no (1 - momentum) factor on g "
                "(and buf = g on the first step).",
            )
        )
        slips.append(
            (
                sgd(ema="first_g"),
                "torch's momentum buffer is buf = momentum * buf + g, with no (1 - momentum) factor on g "
                "(and buf = g on the first step).",
            )
        )
        slips.append(
            (
                sgd(mom=0.0),
                "The momentum is missing: keep buf in the state, buf = momentum * buf + g, and step along buf.",
            )
        )
        slips.append(
            (
                sgd(lr_in_buffer=True),
                "torch's buffer accumulates gradients (buf = momentum * buf + g) and the step is lr * buf with "
                "this step's lr; a buffer of lr-scaled steps (the velocity v = momentum * v - lr * g) agrees "
                "only while the learning rate stays constant, and here it changes every step, as a scheduler "
                "would set it.",
            )
        )
    return slips


def _adam_slips(betas: tuple[float, float], eps: float, wd: float) -> list[tuple[StepFn, str]]:
    """Known wrong Adam updates, each with the hint that names it."""
    b1, b2 = betas

    def adam(*, bias: bool = True, eps_inside: bool = False, decoupled: bool = False) -> StepFn:
        def step(
            p: np.ndarray, grad: np.ndarray, state: dict[str, Any], lr: float
        ) -> tuple[np.ndarray, dict[str, Any]]:
            t = state.get("t", 0) + 1
            g = grad if decoupled else grad + wd * p
            m = b1 * state.get("m", 0.0) + (1 - b1) * g
            v = b2 * state.get("v", 0.0) + (1 - b2) * g**2
            m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if bias else (m, v)
            denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
            new = p - lr * m_hat / denom - (lr * wd * p if decoupled else 0.0)
            return new, {"t": t, "m": m, "v": v}

        return step

    slips = [
        (
            adam(bias=False),
            "Adam without bias correction: m and v start at 0, so divide them by (1 - beta1**t) and "
            "(1 - beta2**t), with t = 1 on the first step.",
        ),
        (
            adam(eps_inside=True),
            "eps belongs after the square root: lr * m_hat / (sqrt(v_hat) + eps), not sqrt(v_hat + eps).",
        ),
    ]
    if wd:
        slips.append(
            (
                adam(decoupled=True),
                "That is AdamW's decoupled weight decay. Here weight_decay is torch Adam's L2 penalty: add it "
                "to the gradient first, g = grad + weight_decay * param.",
            )
        )
    return slips


# ---------------------------------------------------------------- running the learner's loop


def _as_param(value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    __tracebackhide__ = True
    if not isinstance(value, np.ndarray | np.floating | float):
        fail(
            f"{what}: the new parameter should be a float64 ndarray of shape {shape}, but it is a "
            f"{type(value).__name__}."
        )
    arr = np.asarray(value)
    if arr.shape != shape:
        fail(
            f"{what}: the new parameter has shape {arr.shape}, expected {shape} (the shape of `param`).",
            hint="Keep the parameter's shape: every operation in the update is elementwise.",
        )
    if arr.dtype.kind != "f":
        fail(f"{what}: the new parameter has dtype {arr.dtype}, expected float64.")
    return arr.astype(np.float64)


def _unpack(out: Any, shape: tuple[int, ...], what: str) -> tuple[np.ndarray, dict[str, Any]]:
    __tracebackhide__ = True
    if not isinstance(out, tuple | list) or len(out) != 2:
        fail(
            f"{what}: the function should return a pair (new_param, new_state), but it returned "
            f"{type(out).__name__}{'' if not isinstance(out, tuple | list) else f' of length {len(out)}'}.",
            hint="End with `return new_param, new_state`.",
        )
    param = _as_param(out[0], shape, what)
    if not isinstance(out[1], dict):
        fail(
            f"{what}: the new state should be a dict, but it is a {type(out[1]).__name__}.",
            hint="Return the state as a dict, e.g. {'momentum_buffer': buf}; it is passed back on the next call.",
        )
    return param, out[1]


def _learner_loop(sub: Any, func: Any, prob: Problem, lrs: list[float], kwargs: dict[str, Any]) -> list[Any]:
    """The learner's outputs (new_param, new_state) after each step of a real training loop, run in the kernel."""
    loop = sub.eval(_LOOP)
    return list(loop(func, prob.p0, prob.a, prob.c, prob.q, prob.scale, lrs, kwargs))


def _run_and_compare(
    sub: Any,
    func: Any,
    prob: Problem,
    ref: list[Step],
    lrs: list[float],
    kwargs: dict[str, Any],
    what: str,
    rule: str,
    slips: list[tuple[StepFn, str]],
) -> dict[str, Any]:
    """Run the learner's loop next to torch; fail at the first step that disagrees. Returns the last state."""
    __tracebackhide__ = True
    outputs = _learner_loop(sub, func, prob, lrs, kwargs)
    state: dict[str, Any] = {}
    shape = prob.p0.shape
    for k, step in enumerate(ref, start=1):
        if k > len(outputs):  # the kernel loop stops after an output it cannot feed back (reported below)
            fail(f"{what}: the loop stopped after step {len(outputs)}.", hint=rule)
        new_param, state = _unpack(outputs[k - 1], shape, f"{what}, step {k}")
        if not np.isfinite(new_param).all():
            fail(
                f"{what}: after step {k} the parameter contains NaN or inf.",
                hint="The first step is t = 1 (bias corrections 1 - beta**t are then non-zero); check for a "
                "division by zero."
                if "Adam" in what
                else rule,
            )
        err = relative_error(new_param, step.new_param)
        if err > TOL:
            hint = rule
            for slip, message in slips:  # a known wrong optimiser that follows the learner's trajectory?
                if relative_error(new_param, _simulate(prob, lrs[:k], slip)[-1]) < 1e-6:
                    hint = message
                    break
            idx = np.unravel_index(int(np.argmax(np.abs(new_param - step.new_param))), shape)
            fail(
                f"{what}: after step {k} of {len(ref)} your parameter differs from torch.optim's (relative "
                f"error {err:.2e} > {TOL:g}). At index {tuple(int(i) for i in idx)} you have "
                f"{new_param[idx]:.10g}, torch has {step.new_param[idx]:.10g}.",
                hint=hint,
            )
    return state


def _sgd_case(
    sub: Any,
    rng: np.random.Generator,
    device: str,
    shape: tuple[int, ...],
    lrs: list[float],
    momentum: float,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> dict[str, Any]:
    __tracebackhide__ = True
    prob = _problem(rng, shape)
    ref = _torch_run(
        prob, torch.optim.SGD, lrs, device, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov
    )
    kwargs = {"momentum": momentum, "weight_decay": weight_decay, "nesterov": nesterov}
    lr_text = f"lr={lrs[0]}" if len(set(lrs)) == 1 else "a learning rate that changes every step"
    what = f"sgd_momentum_step({lr_text}, momentum={momentum}, weight_decay={weight_decay}, nesterov={nesterov})"
    slips = _sgd_slips(momentum, weight_decay, nesterov)
    return _run_and_compare(sub, sub.sgd_momentum_step, prob, ref, lrs, kwargs, what, _SGD_RULE, slips)


def _adam_case(
    sub: Any,
    prob: Problem,
    device: str,
    lrs: list[float],
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    weight_decay: float = 0.0,
) -> dict[str, Any]:
    __tracebackhide__ = True
    ref = _torch_run(prob, torch.optim.Adam, lrs, device, betas=betas, eps=eps, weight_decay=weight_decay)
    kwargs = {"betas": betas, "eps": eps, "weight_decay": weight_decay}
    what = f"Adam: adam_step(lr={lrs[0]}, betas={betas}, eps={eps:g}, weight_decay={weight_decay})"
    slips = _adam_slips(betas, eps, weight_decay)
    return _run_and_compare(sub, sub.adam_step, prob, ref, lrs, kwargs, what, _ADAM_RULE, slips)


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1.5)
def test_sgd_momentum_matches_torch_for_20_steps(sub: Any, rng: np.random.Generator, device: str) -> None:
    _sgd_case(sub, rng, device, (3, 4), [0.05] * N_STEPS, momentum=0.9)
    _sgd_case(sub, rng, device, (6,), [0.1] * N_STEPS, momentum=0.0)
    _sgd_case(sub, rng, device, (2, 3, 2), [0.02] * N_STEPS, momentum=0.5)


@pytest.mark.points(1)
def test_sgd_nesterov_and_weight_decay_match_torch(sub: Any, rng: np.random.Generator, device: str) -> None:
    _sgd_case(sub, rng, device, (4, 3), [0.05] * N_STEPS, momentum=0.9, nesterov=True)
    _sgd_case(sub, rng, device, (5,), [0.05] * N_STEPS, momentum=0.9, weight_decay=0.1)
    _sgd_case(sub, rng, device, (3, 3), [0.03] * N_STEPS, momentum=0.8, weight_decay=0.05, nesterov=True)


@pytest.mark.points(1)
def test_sgd_learning_rate_may_change_between_steps(sub: Any, rng: np.random.Generator, device: str) -> None:
    lrs = [0.1 * 0.8**k for k in range(N_STEPS)]  # a decaying schedule, as a scheduler would set it
    _sgd_case(sub, rng, device, (4, 2), lrs, momentum=0.9)


@pytest.mark.public
@pytest.mark.points(1.5)
def test_adam_matches_torch_for_20_steps(sub: Any, rng: np.random.Generator, device: str) -> None:
    _adam_case(sub, _problem(rng, (5,)), device, [0.05] * N_STEPS)
    _adam_case(sub, _problem(rng, (2, 3, 2)), device, [0.1] * N_STEPS, betas=(0.8, 0.99))


@pytest.mark.points(1)
def test_adam_first_step_moves_every_coordinate_by_lr(sub: Any, rng: np.random.Generator) -> None:
    param = rng.normal(size=(3, 5))
    grad = rng.normal(size=(3, 5)) * np.logspace(-3, 2, 5)  # gradients of very different sizes
    lr = 0.01
    new_param, _ = _unpack(sub.adam_step(param, grad, {}, lr=lr), param.shape, "adam_step on the first step")
    if not np.isfinite(new_param).all():
        fail(
            "After the first Adam step the parameter contains NaN or inf.",
            hint="The first step is t = 1 (bias corrections 1 - beta**t are then non-zero); check for a division "
            "by zero.",
        )
    step = np.abs(new_param - param)
    expected = lr * np.abs(grad) / (np.abs(grad) + 1e-8)  # m_hat = g, v_hat = g**2 at t = 1
    if relative_error(step, expected) > 1e-8:
        ratio = float(np.median(step / lr))
        hint = (
            "Adam without bias correction: m and v start at 0, so divide them by (1 - beta1**t) and "
            "(1 - beta2**t), with t = 1 on the first step."
            if abs(ratio - 0.1 / np.sqrt(0.001)) < 0.05
            else "At t = 1, m_hat = g and v_hat = g**2, so every coordinate moves by lr * |g| / (|g| + eps), "
            "about lr, whatever the size of its gradient. " + _ADAM_RULE
        )
        if relative_error(step, lr * np.abs(grad) / np.sqrt(grad**2 + 1e-8)) < 1e-8:
            hint = "eps belongs after the square root: m_hat / (sqrt(v_hat) + eps), not m_hat / sqrt(v_hat + eps)."
        fail(
            f"On the first Adam step (lr={lr}) every coordinate should move by about lr, whatever its gradient; "
            f"yours move by {ratio:.4g} * lr (median).",
            hint=hint,
        )
    if not np.all(np.sign(new_param - param) == -np.sign(grad)):
        fail("On the first Adam step every coordinate should move against its gradient.", hint=_ADAM_RULE)


@pytest.mark.points(1)
def test_adam_weight_decay_and_eps_match_torch(sub: Any, rng: np.random.Generator, device: str) -> None:
    _adam_case(sub, _problem(rng, (4, 3)), device, [0.05] * N_STEPS, weight_decay=0.1)
    # Tiny gradients (about 1e-5): here it matters whether eps is added before or after the square root.
    _adam_case(sub, _problem(rng, (6,), scale=1e-5), device, [0.05] * N_STEPS)


@pytest.mark.points(1)
def test_state_holds_the_pinned_entries(sub: Any, rng: np.random.Generator, device: str) -> None:
    lrs = [0.05] * 3
    sgd_prob = _problem(rng, (2, 3))
    sgd_ref = _torch_run(sgd_prob, torch.optim.SGD, lrs, device, momentum=0.9)
    param, state = sgd_prob.p0.copy(), {}
    for lr in lrs:
        param, state = _unpack(
            sub.sgd_momentum_step(param, sgd_prob.grad(param), state, lr=lr, momentum=0.9),
            param.shape,
            "sgd_momentum_step",
        )
    _check_state(state, sgd_ref[-1].new_state, "sgd_momentum_step", {"momentum_buffer"}, param, sgd_ref[-1].new_param)

    adam_prob = _problem(rng, (4,))
    adam_ref = _torch_run(adam_prob, torch.optim.Adam, lrs, device)
    param, state = adam_prob.p0.copy(), {}
    for lr in lrs:
        param, state = _unpack(sub.adam_step(param, adam_prob.grad(param), state, lr=lr), param.shape, "adam_step")
    _check_state(
        state, adam_ref[-1].new_state, "adam_step", {"step", "exp_avg", "exp_avg_sq"}, param, adam_ref[-1].new_param
    )


def _check_state(
    state: dict[str, Any],
    expected: dict[str, Any],
    name: str,
    keys: set[str],
    param: np.ndarray,
    expected_param: np.ndarray,
) -> None:
    __tracebackhide__ = True
    if set(state) != keys:
        fail(
            f"After 3 steps, the state returned by `{name}` has keys {sorted(state)}, expected exactly {sorted(keys)}.",
            hint="Use the key names of the docstring (they are torch.optim's).",
        )
    for key in sorted(keys):
        got, exp = state[key], expected[key]
        if key == "step":
            if isinstance(got, bool) or not isinstance(got, int | np.integer) or int(got) != exp:
                fail(
                    f"After 3 steps, `{name}` returned state['step'] = {got!r}, expected the int {exp}.",
                    hint="state['step'] is a Python int that counts the updates made so far: 1 after the first call.",
                )
            continue
        arr = np.asarray(got) if isinstance(got, np.ndarray) else None
        if arr is None or arr.shape != exp.shape or arr.dtype != np.float64:
            fail(
                f"After 3 steps, `{name}` returned state[{key!r}] as {type(got).__name__}"
                f"{'' if arr is None else f' of shape {arr.shape} and dtype {arr.dtype}'}; expected a float64 "
                f"array of shape {exp.shape}."
            )
        err = relative_error(arr, exp)
        if err > TOL and relative_error(param, expected_param) > TOL:
            fail(
                f"After 3 steps, `{name}`'s state[{key!r}] differs from torch.optim's, and so does the parameter: "
                "this follows from the update problem reported by the tests that follow torch.optim step by step."
            )
        if err > TOL:
            fail(
                f"After 3 steps, `{name}`'s state[{key!r}] differs from torch.optim's (relative error {err:.2e}).",
                hint=_SGD_RULE if name.startswith("sgd") else _ADAM_RULE,
            )


@pytest.mark.points(1)
def test_steps_never_modify_their_inputs(sub: Any, rng: np.random.Generator) -> None:
    probe = sub.eval(_PURITY_PROBE)
    p, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    cases = [
        ("sgd_momentum_step", sub.sgd_momentum_step, {}, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
        (
            "sgd_momentum_step",
            sub.sgd_momentum_step,
            {"momentum_buffer": rng.normal(size=(3, 4))},
            {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1},
        ),
        ("adam_step", sub.adam_step, {}, {"lr": 0.1, "weight_decay": 0.1}),
        (
            "adam_step",
            sub.adam_step,
            {"step": 3, "exp_avg": rng.normal(size=(3, 4)), "exp_avg_sq": rng.uniform(0.1, 1, size=(3, 4))},
            {"lr": 0.1, "weight_decay": 0.1},
        ),
    ]
    for name, func, state, kwargs in cases:
        before, after, _, same_param, same_state = probe(func, p, g, state, kwargs)
        when = "on the first step" if not state else "with a non-empty state"
        for label, b, a in (("param", before[0], after[0]), ("grad", before[1], after[1])):
            if not np.array_equal(a, b):
                fail(
                    f"`{name}` {when} modified its `{label}` argument in place.",
                    hint="The step functions are pure: write new_param = param - lr * d, never param -= ... "
                    "(the caller's arrays must not change).",
                )
        if set(after[2]) != set(before[2]) or any(
            not np.array_equal(np.asarray(after[2][k]), np.asarray(before[2][k])) for k in before[2]
        ):
            fail(
                f"`{name}` {when} modified the `state` passed in (a key added, or an array changed in place).",
                hint="Build and return a new dict with new arrays, e.g. buf = momentum * old_buf + g (not "
                "old_buf *= momentum; old_buf += g).",
            )
        if same_param or same_state:
            fail(
                f"`{name}` {when} returned the very {'param array' if same_param else 'state dict'} it was given.",
                hint="Return a new array and a new dict: the step functions are pure.",
            )


@pytest.mark.points(1)
def test_float32_inputs_give_float64(sub: Any, rng: np.random.Generator) -> None:
    p = rng.normal(size=(2, 3)).astype(np.float32)
    g = rng.normal(size=(2, 3)).astype(np.float32)
    hint = "Work in float64: convert param and grad with np.asarray(..., dtype=np.float64) first."
    for name, func, kwargs in (
        ("sgd_momentum_step", sub.sgd_momentum_step, {"lr": 0.1, "momentum": 0.9}),
        ("adam_step", sub.adam_step, {"lr": 0.1}),
    ):
        out = func(p, g, {}, **kwargs)
        _, state = _unpack(out, p.shape, f"{name} with float32 inputs")
        if out[0].dtype != np.float64:
            fail(f"`{name}` with float32 param and grad returned a {out[0].dtype} parameter.", hint=hint)
        for key, value in state.items():
            if isinstance(value, np.ndarray) and value.dtype != np.float64:
                fail(f"`{name}` with float32 param and grad returned state[{key!r}] as {value.dtype}.", hint=hint)
