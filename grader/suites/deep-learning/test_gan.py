"""Hidden suite for deep-learning/gan: a GAN on a ring of eight Gaussians.

The layouts of both networks are pinned, so the suite reads their ``state_dict`` back and
repeats every step here in plain torch (float64): the losses against hand-computed values,
each update against one SGD step computed here, the alternating order, and that each step
leaves the other network's weights alone. A short training run must cover the modes: the
coverage score and its threshold are stated below, and the report plots real against generated
points.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from grader.engine.remote import RemoteRef
from grader.helpers import assert_close, fail

N_MODES, RADIUS = 8, 2.0
NEAR = 0.5  # a generated point "hits" a mode when it lies within 0.5 of its centre (modes are 1.53 apart)
MIN_MODES = 6  # coverage: at least 6 of the 8 modes must each receive at least 2 % of the samples...
MIN_SHARE = 0.02
MIN_QUALITY = 0.4  # ...and at least 40 % of all samples must hit some mode (the solution: about 70 %, 8 modes)
_TRAIN = {"steps": 800, "batch_size": 64, "latent_dim": 8, "hidden": 64, "lr": 2e-3, "seed": 0}

# Seeds torch, builds G and D on the device: (G, D).
_BUILD = """
lambda Gen, Dis, latent, hidden, seed, dev: (__import__('torch').manual_seed(seed),
    (Gen(latent, hidden).to(dev), Dis(hidden).to(dev)))[1]
""".strip()
_STATE = "lambda m: {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}"
_GRADS = "lambda m: [None if p.grad is None else p.grad.detach().cpu().clone() for p in m.parameters()]"
_SGD = "lambda m, lr: __import__('torch').optim.SGD(m.parameters(), lr=lr)"
_CALL = "lambda f, dev, *args: f(*[a.to(dev) if isinstance(a, __import__('torch').Tensor) else a for a in args])"
_SAMPLE = "lambda G, z, dev: __import__('torch').no_grad()(lambda: G(z.to(dev)).cpu())()"
_TRAIN_GAN = (
    "lambda f, kw, dev: (lambda out: (out[0], out[1], [tuple(map(float, h)) for h in out[2]]))(f(**kw, device=dev))"
)

_D_LOSS = (
    "discriminator_loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean(): label 1 for real, "
    "0 for fake, the sum of the two means."
)
_G_LOSS = (
    "The non-saturating generator loss is F.softplus(-fake_logits).mean() = mean(-log sigmoid(D(G(z)))), not the "
    "minimax mean(log(1 - sigmoid(D(G(z)))))."
)
_ORDER = "train_step runs discriminator_step FIRST, then generator_step with the same z and the just-updated D."


# ---------------------------------------------------------------- the reference (grader side)


def _mlp(sd: dict[str, torch.Tensor], x: torch.Tensor, act: Any) -> torch.Tensor:
    x = x.double()
    for i in (0, 2):
        x = act(F.linear(x, sd[f"net.{i}.weight"].double(), sd[f"net.{i}.bias"].double()))
    return F.linear(x, sd["net.4.weight"].double(), sd["net.4.bias"].double())


def _g(sd: dict[str, torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    return _mlp(sd, z, F.relu)


def _d(sd: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return _mlp(sd, x, lambda t: F.leaky_relu(t, 0.2))


def _leaf(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.double().clone().requires_grad_(True) for k, v in sd.items()}


def _d_step(gsd, dsd, real, z, lr):  # type: ignore[no-untyped-def]
    d = _leaf(dsd)
    fake = _g(gsd, z).detach()
    loss = F.softplus(-_d(d, real)).mean() + F.softplus(_d(d, fake)).mean()
    grads = torch.autograd.grad(loss, list(d.values()))
    return {k: (v - lr * gr).detach() for (k, v), gr in zip(d.items(), grads, strict=True)}, loss.item()


def _g_step(gsd, dsd, z, lr, kind="ok"):  # type: ignore[no-untyped-def]
    g = _leaf(gsd)
    logits = _d(dsd, _g(g, z))
    loss = -F.softplus(logits).mean() if kind == "minimax" else F.softplus(-logits).mean()
    grads = torch.autograd.grad(loss, list(g.values()))
    return {k: (v - lr * gr).detach() for (k, v), gr in zip(g.items(), grads, strict=True)}, loss.item()


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], tol: float = 1e-5) -> bool:
    return all(torch.allclose(a[k].double(), b[k].double(), rtol=tol, atol=tol) for k in b)


def _centres() -> torch.Tensor:
    angle = 2 * math.pi * torch.arange(N_MODES, dtype=torch.float64) / N_MODES
    return RADIUS * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)


def _build(sub: Any, device: str, seed: int) -> tuple[RemoteRef, RemoteRef, dict, dict]:  # type: ignore[type-arg]
    __tracebackhide__ = True
    G, D = sub.eval(_BUILD)(sub.Generator, sub.Discriminator, 8, 16, seed, device)
    gsd, dsd = sub.eval(_STATE)(G), sub.eval(_STATE)(D)
    want_g = {"net.0.weight": (16, 8), "net.2.weight": (16, 16), "net.4.weight": (2, 16)}
    want_d = {"net.0.weight": (16, 2), "net.2.weight": (16, 16), "net.4.weight": (1, 16)}
    for what, sd, want in (("Generator(8, 16)", gsd, want_g), ("Discriminator(16)", dsd, want_d)):
        for name, shape in want.items():
            if name not in sd or tuple(sd[name].shape) != shape:
                fail(
                    f"{what} has no {name!r} of shape {shape}: the layout is pinned.",
                    hint="Build self.net = nn.Sequential(Linear, activation, Linear, activation, Linear) exactly as "
                    "the module docstring says (ReLU in G, LeakyReLU(0.2) in D).",
                )
    return G, D, gsd, dsd


def _data(seed: int, n: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    angle = 2 * math.pi * torch.randint(0, N_MODES, (n,), generator=gen).double() / N_MODES
    real = RADIUS * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1) + 0.05 * torch.randn(n, 2, generator=gen)
    return real.float(), torch.randn(n, 8, generator=gen)


def _one_round_ok(sub: Any, device: str, seed: int) -> bool:
    """Whether one train_step (SGD) of the learner's code equals the reference round."""
    G, D, gsd, dsd = _build(sub, device, seed % 2**31)
    real, z = _data(seed)
    sub.eval(_CALL)(sub.train_step, device, G, D, sub.eval(_SGD)(G, 0.2), sub.eval(_SGD)(D, 0.2), real, z)
    want_d, _ = _d_step(gsd, dsd, real, z, 0.2)
    want_g, _ = _g_step(gsd, want_d, z, 0.2)
    return _same(sub.eval(_STATE)(D), want_d, 1e-4) and _same(sub.eval(_STATE)(G), want_g, 1e-4)


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(1.5)
def test_losses_match_hand_computed_values(sub: Any, device: str, seed: int) -> None:
    ln2 = math.log(2.0)
    zero = torch.zeros(4, 1)
    cases = [
        ("discriminator_loss(zeros, zeros)", sub.eval(_CALL)(sub.discriminator_loss, device, zero, zero), 2 * ln2),
        (
            "discriminator_loss([[3.0]], [[-1.0]])",
            sub.eval(_CALL)(sub.discriminator_loss, device, torch.tensor([[3.0]]), torch.tensor([[-1.0]])),
            math.log1p(math.exp(-3.0)) + math.log1p(math.exp(-1.0)),
        ),
    ]
    for what, got, want in cases:
        assert_close(float(got.item()), want, rtol=1e-5, name=what, hint=_D_LOSS)
    for logits, want in (
        (zero, ln2),
        (torch.tensor([[-2.0], [1.0]]), (math.log1p(math.e**2) + math.log1p(math.e**-1)) / 2),
    ):
        got = float(sub.eval(_CALL)(sub.generator_loss, device, logits).item())
        minimax = float(-F.softplus(logits.double()).mean())
        if abs(got - minimax) < 1e-5:
            fail(f"`generator_loss` is the minimax loss ({got:.5f}).", hint=_G_LOSS)
        assert_close(got, want, rtol=1e-5, name=f"generator_loss({logits.flatten().tolist()})", hint=_G_LOSS)
    big = torch.tensor([[200.0], [-200.0]])
    got = float(sub.eval(_CALL)(sub.discriminator_loss, device, big, big).item())
    if not math.isfinite(got):
        fail(
            "`discriminator_loss` is not finite for logits of ±200.",
            hint="Compute from logits with F.softplus (or binary_cross_entropy_with_logits), not log(sigmoid(...)).",
        )


@pytest.mark.public
@pytest.mark.points(2)
def test_discriminator_step_updates_d_only_through_a_detached_fake(sub: Any, device: str, seed: int) -> None:
    G, D, gsd, dsd = _build(sub, device, seed % 2**31)
    real, z = _data(seed)
    loss = sub.eval(_CALL)(sub.discriminator_step, device, G, D, sub.eval(_SGD)(D, 0.1), real, z)
    want_d, want_loss = _d_step(gsd, dsd, real, z, 0.1)
    if not _same(sub.eval(_STATE)(G), gsd, 0.0):
        fail("`discriminator_step` changed the generator's weights.", hint="Only opt_d steps in discriminator_step.")
    if any(g is not None and g.abs().max().item() > 0 for g in sub.eval(_GRADS)(G)):
        fail(
            "After `discriminator_step`, the generator's parameters have gradients: the discriminator's loss "
            "was backpropagated into G.",
            hint="Use fake = G(z).detach() in the discriminator step: D's loss must not reach G.",
        )
    assert_close(float(loss), want_loss, rtol=1e-4, atol=1e-5, name="the loss discriminator_step returns", hint=_D_LOSS)
    got_d = sub.eval(_STATE)(D)
    for name, want in want_d.items():
        assert_close(
            got_d[name],
            want,
            rtol=1e-4,
            atol=1e-5,
            name=f"D's {name} after one discriminator_step with SGD(lr=0.1)",
            hint="opt_d.zero_grad(), loss.backward(), opt_d.step(), with loss = discriminator_loss(D(real), D(fake)).",
        )


@pytest.mark.public
@pytest.mark.points(2)
def test_generator_step_updates_g_and_leaves_d_alone(sub: Any, device: str, seed: int) -> None:
    G, D, gsd, dsd = _build(sub, device, seed % 2**31)
    _, z = _data(seed)
    loss = sub.eval(_CALL)(sub.generator_step, device, G, D, sub.eval(_SGD)(G, 0.1), z)
    if not _same(sub.eval(_STATE)(D), dsd, 0.0):
        fail(
            "`generator_step` changed the discriminator's weights.",
            hint="Only opt_g steps in generator_step: D must stay as it is while G learns to fool it.",
        )
    want_g, want_loss = _g_step(gsd, dsd, z, 0.1)
    got_g = sub.eval(_STATE)(G)
    if not _same(got_g, want_g, 1e-4) and _same(got_g, _g_step(gsd, dsd, z, 0.1, "minimax")[0], 1e-4):
        fail("`generator_step` follows the minimax loss.", hint=_G_LOSS)
    assert_close(float(loss), want_loss, rtol=1e-4, atol=1e-5, name="the loss generator_step returns", hint=_G_LOSS)
    for name, want in want_g.items():
        assert_close(
            got_g[name],
            want,
            rtol=1e-4,
            atol=1e-5,
            name=f"G's {name} after one generator_step with SGD(lr=0.1)",
            hint="opt_g.zero_grad(), loss.backward(), opt_g.step(), with loss = generator_loss(D(G(z))).",
        )


@pytest.mark.public
@pytest.mark.points(1.5)
def test_train_step_updates_d_first_then_g_against_the_new_d(sub: Any, device: str, seed: int) -> None:
    G, D, gsd, dsd = _build(sub, device, seed % 2**31)
    real, z = _data(seed)
    out = sub.eval(_CALL)(sub.train_step, device, G, D, sub.eval(_SGD)(G, 0.2), sub.eval(_SGD)(D, 0.2), real, z)
    want_d, d_loss = _d_step(gsd, dsd, real, z, 0.2)
    want_g, g_loss = _g_step(gsd, want_d, z, 0.2)
    got_g, got_d = sub.eval(_STATE)(G), sub.eval(_STATE)(D)
    if not (_same(got_d, want_d, 1e-4) and _same(got_g, want_g, 1e-4)):
        g_first, _ = _g_step(gsd, dsd, z, 0.2)
        d_after, _ = _d_step(g_first, dsd, real, z, 0.2)
        if _same(got_g, g_first, 1e-4):
            fail("In `train_step`, the generator was updated against the OLD discriminator.", hint=_ORDER)
        if _same(got_d, d_after, 1e-4):
            fail("In `train_step`, the discriminator saw the fakes of the UPDATED generator.", hint=_ORDER)
        if not (_same(got_d, want_d, 1e-4)):
            fail(
                "This follows from the problem in discriminator_step or generator_step above: after train_step, D is "
                "not exactly one correct discriminator step (a generator step must leave D alone)."
            )
        fail("This follows from the generator_step problem above: G after train_step is not one correct G step.")
    if not isinstance(out, tuple | list) or len(out) != 2:
        fail("`train_step` should return (d_loss, g_loss).")
    assert_close([float(v) for v in out], [d_loss, g_loss], rtol=1e-4, atol=1e-5, name="(d_loss, g_loss)", hint=_ORDER)


@pytest.mark.points(3)
def test_training_covers_the_modes_of_the_ring(sub: Any, device: str, seed: int, plot: Any) -> None:
    G, _, history = sub.eval(_TRAIN_GAN)(sub.train_gan, _TRAIN, device)
    if len(history) != _TRAIN["steps"]:
        fail(f"`train_gan(steps={_TRAIN['steps']}, ...)` returned a history of {len(history)} steps.")
    z = torch.randn(2000, _TRAIN["latent_dim"], generator=torch.Generator().manual_seed(seed))
    fake = sub.eval(_SAMPLE)(G, z, device).double()
    if not torch.isfinite(fake).all():
        fail("The trained generator produces NaN or infinite points.")
    dist = torch.cdist(fake, _centres())
    nearest, mode = dist.min(dim=1)
    hit = nearest < NEAR
    shares = [float(((mode == k) & hit).double().mean()) for k in range(N_MODES)]
    covered = sum(s >= MIN_SHARE for s in shares)
    quality = float(hit.double().mean())
    real = _data(seed, 500)[0].double()
    plot(
        "clusters",
        f"real (0) vs generated (1) points: {covered}/8 modes covered, {quality:.0%} of samples near a mode",
        X=torch.cat([real, fake[:500]]).numpy(),
        learner=[0] * 500 + [1] * 500,
        reference=torch.cat([torch.cdist(real, _centres()).argmin(1), mode[:500]]).numpy(),
    )
    plot(
        "curve",
        "discriminator loss per step (2 ln 2 = D cannot tell)",
        learner=[h[0] for h in history],
        reference=2 * math.log(2),
    )
    if (covered < MIN_MODES or quality < MIN_QUALITY) and not _one_round_ok(sub, device, seed):
        fail(
            f"Training covered {covered} of the 8 modes ({quality:.0%} of samples near a mode). This follows from "
            "the problems with the losses or the update steps above."
        )
    if covered < MIN_MODES or quality < MIN_QUALITY:
        fail(
            f"After train_gan({', '.join(f'{k}={v}' for k, v in _TRAIN.items())}), {covered} of the 8 modes get at "
            f"least {MIN_SHARE:.0%} of 2000 samples within {NEAR} of their centre, and {quality:.0%} of the samples "
            f"lie near some mode; expected at least {MIN_MODES} modes and {MIN_QUALITY:.0%}.",
            hint="Adam(lr=lr, betas=(0.5, 0.999)) for each network, a fresh real batch and z every step, and "
            "train_step's order: D first (on G(z).detach()), then G with the non-saturating loss.",
        )
