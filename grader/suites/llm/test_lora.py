"""Hidden suite for llm/lora: `LoRALinear`, `apply_lora` and `finetune` on the course's tiny GPT.

Every reference is computed here in plain torch (the formulas of the LoRA paper, with the
conventions of the ``peft`` library: ``B`` zero-initialised, ``A`` like ``nn.Linear``'s weight,
scaling ``alpha / r``, merge ``W += scaling * B @ A``). ``peft`` itself is not a grader
dependency: it pulls in ``transformers`` and ``accelerate``, far more than the few lines it
would check.

For the fine-tuning test the suite trains a small GPT here on *Macbeth* (``_gpt_reference.py``,
grader-only), builds the same model in the learner's kernel from that file's source and
weights, lets the learner adapt and fine-tune it on a second text (the fictional employee
handbook in ``datasets/handbook``), and scores the result on held-out handbook text from the
logits that come back.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from grader.engine.remote import RemoteRef
from grader.helpers import DATASETS, assert_close, expect_raises, fail

MIN_DROP = 0.05  # the held-out handbook loss must fall by at least this many nats (typically about 0.15)

_REF_PATH = Path(__file__).with_name("_gpt_reference.py")
_REF_CFG = {"vocab_size": 67, "block_size": 32, "n_layer": 1, "n_head": 4, "n_embd": 32, "bias": True}
_TARGETS = ["c_attn", "c_proj", "c_fc"]
_R, _ALPHA = 4, 8.0
_FT = {"steps": 40, "batch_size": 16, "block_size": 32, "lr": 3e-2, "seed": 0}

# Builds nn.Linear(n_in, n_out) on the device, then seeds torch and wraps it: (layer, base).
_WRAP = """
lambda LoRALinear, n_in, n_out, r, alpha, seed, dev: (lambda torch: (lambda base: (
    torch.manual_seed(seed), (lambda layer: (layer, layer.base is base))(LoRALinear(base, r, alpha)))[1]
)(torch.nn.Linear(n_in, n_out).to(dev)))(__import__('torch'))
""".strip()
# What the suite reads from a LoRALinear: values on the CPU.
_STATE = """
lambda m: {
    'A': m.lora_A.detach().cpu().clone(), 'B': m.lora_B.detach().cpu().clone(),
    'W': m.base.weight.detach().cpu().clone(), 'b': m.base.bias.detach().cpu().clone(),
    'scaling': float(m.scaling), 'merged': bool(m.merged),
    'grad': {n: bool(p.requires_grad) for n, p in m.named_parameters()},
}
""".strip()
_SET_AB = "lambda m, A, B: __import__('torch').no_grad()(lambda: (m.lora_A.copy_(A), m.lora_B.copy_(B), None)[2])()"
_FORWARD = "lambda m, x, dev: __import__('torch').no_grad()(lambda: m(x.to(dev)).cpu())()"
_METHOD = "lambda m, name: getattr(m, name)()"
_BUILD_REF = """
lambda src, kw, sd, dev: (lambda ns: (exec(src, ns), ns['build'](kw, sd, dev))[1])({'__name__': 'grader_reference_gpt'})
""".strip()
_APPLY = "lambda f, m, r, alpha, targets, seed: (__import__('torch').manual_seed(seed), (lambda out: (out is m, m))(f(m, r, alpha, targets)))[1]"  # noqa: E501
_PARAMS = "lambda m: {n: (p.detach().cpu().clone(), bool(p.requires_grad)) for n, p in m.named_parameters()}"
_LOGITS = "lambda m, idx, dev: __import__('torch').no_grad()(lambda: m.eval()(idx.to(dev))[0].cpu())()"
_FINETUNE = "lambda f, m, data, dev, kw: f(m, data.to(dev), **kw)"
_SCALINGS = "lambda m, cls: [float(mod.scaling) for mod in m.modules() if isinstance(mod, cls)]"
_MERGE_ALL = "lambda m, cls: [mod.merge() for mod in m.modules() if isinstance(mod, cls)] and None"

_INIT = (
    "B starts at zeros (so the adapted layer equals the base at first); A is drawn like nn.Linear's weight, "
    "nn.init.kaiming_uniform_(A, a=math.sqrt(5)), from torch's global generator."
)
_FORMULA = "forward is base(x) + (alpha / r) * (x @ lora_A.T) @ lora_B.T, with lora_A (r, in) and lora_B (out, r)."
_MERGE = (
    "merge adds scaling * lora_B @ lora_A to base.weight in place and sets merged = True; a merged layer's forward "
    "is just base(x) (the correction must not be added twice); unmerge subtracts it again."
)


# ---------------------------------------------------------------- grader-side helpers


@functools.cache
def _ref() -> ModuleType:
    spec = importlib.util.spec_from_file_location("llm_gpt_reference", _REF_PATH)
    assert spec is not None and spec.loader is not None, f"cannot load {_REF_PATH}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _vocab() -> dict[str, int]:
    text = (DATASETS / "shakespeare" / "macbeth.txt").read_text(encoding="utf-8")
    return {c: i for i, c in enumerate(sorted(set(text)))}


@functools.cache
def _pretrained() -> dict[str, torch.Tensor]:
    """A small GPT trained here on Macbeth for 100 steps: deterministic, far from its random init."""
    text = (DATASETS / "shakespeare" / "macbeth.txt").read_text(encoding="utf-8")
    ids = torch.tensor([_vocab()[c] for c in text], dtype=torch.int64)
    with _ref().one_thread(), torch.random.fork_rng(devices=[]):
        model = _ref().train_tiny(ids[: int(0.9 * len(ids))], _REF_CFG, steps=100, batch_size=32, lr=1e-2, seed=0)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@functools.cache
def _handbook() -> tuple[torch.Tensor, torch.Tensor]:
    """The handbook as Macbeth's character ids (characters Macbeth lacks become spaces): 90 % train, 10 % held out."""
    docs = json.loads((DATASETS / "handbook" / "handbook.json").read_text(encoding="utf-8"))["documents"]
    text = "\n\n".join(d["title"] + "\n" + d["text"] for d in docs)
    stoi = _vocab()
    ids = torch.tensor([stoi.get(c, stoi[" "]) for c in text], dtype=torch.int64)
    split = int(0.9 * len(ids))
    return ids[:split], ids[split:]


def _windows(ids: torch.Tensor, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    starts = range(0, len(ids) - T - 1, T)
    return torch.stack([ids[i : i + T] for i in starts]), torch.stack([ids[i + 1 : i + T + 1] for i in starts])


def _loss(logits: torch.Tensor, y: torch.Tensor) -> float:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).double(), y.reshape(-1)).item()


def _lora_forward(W: torch.Tensor, b: torch.Tensor, A: torch.Tensor, B: torch.Tensor, x: torch.Tensor, s: float):
    x, W, b, A, B = (t.double() for t in (x, W, b, A, B))
    return x @ W.T + b + s * (x @ A.T) @ B.T


def _wrap(sub: Any, n_in: int, n_out: int, r: int, alpha: float, seed: int, device: str) -> RemoteRef:
    __tracebackhide__ = True
    layer, kept = sub.eval(_WRAP)(sub.LoRALinear, n_in, n_out, r, alpha, seed, device)
    if not kept:
        fail(
            "`LoRALinear(base, r, alpha).base` is not the layer that was passed in.",
            hint="Keep the pretrained layer itself as self.base (do not copy or rebuild it).",
        )
    return layer


def _state(sub: Any, layer: RemoteRef) -> dict[str, Any]:
    __tracebackhide__ = True
    return sub.eval(_STATE)(layer)


# ---------------------------------------------------------------- tests


@pytest.mark.public
@pytest.mark.points(2)
def test_a_new_adapter_starts_equal_to_the_base_and_only_it_trains(sub: Any, device: str, seed: int) -> None:
    seed %= 2**31
    layer = _wrap(sub, 12, 7, 4, 8.0, seed, device)
    st = _state(sub, layer)
    if tuple(st["A"].shape) != (4, 12) or tuple(st["B"].shape) != (7, 4):
        fail(
            f"For LoRALinear(nn.Linear(12, 7), r=4, ...), lora_A has shape {tuple(st['A'].shape)} and lora_B "
            f"{tuple(st['B'].shape)}; expected (4, 12) = (r, in_features) and (7, 4) = (out_features, r).",
            hint="lora_A is (r, in_features) and lora_B is (out_features, r), so that B @ A has base.weight's shape.",
        )
    if st["B"].abs().max().item() != 0.0:
        fail("A new adapter's lora_B is not all zeros: the adapted layer does not start equal to the base.", _INIT)
    expected_A = torch.empty(4, 12)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.nn.init.kaiming_uniform_(expected_A, a=math.sqrt(5))
    assert_close(
        st["A"],
        expected_A,
        rtol=0,
        atol=1e-7,
        name=f"lora_A of LoRALinear(nn.Linear(12, 7), r=4) right after torch.manual_seed({seed})",
        hint=_INIT + " It is the only random draw in __init__.",
    )
    grads = st["grad"]
    frozen = [n for n in ("base.weight", "base.bias") if grads.get(n, False)]
    if frozen:
        fail(
            f"In a LoRALinear, {frozen[0]!r} still requires a gradient: the pretrained weights must be frozen.",
            hint="Set requires_grad = False on base.weight and base.bias (base.requires_grad_(False)).",
        )
    trainable = sorted(n for n, g in grads.items() if g)
    if trainable != ["lora_A", "lora_B"]:
        fail(
            f"The trainable parameters of a LoRALinear are {trainable}, expected ['lora_A', 'lora_B'].",
            hint="Register the adapters as nn.Parameter named lora_A and lora_B; everything else is frozen.",
        )
    x = torch.randn(3, 5, 12, generator=torch.Generator().manual_seed(seed))
    got = sub.eval(_FORWARD)(layer, x, device)
    assert_close(
        got,
        x.double() @ st["W"].double().T + st["b"].double(),
        rtol=1e-5,
        atol=1e-5,
        name="a new LoRALinear's output",
        hint=_INIT,
    )
    with expect_raises("ValueError", name="LoRALinear(base, r=0, alpha=1.0)", hint="The rank must be at least 1."):
        _wrap(sub, 12, 7, 0, 1.0, seed, device)


@pytest.mark.points(2)
def test_forward_adds_the_low_rank_update_scaled_by_alpha_over_r(sub: Any, device: str, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for r, alpha in ((4, 8.0), (2, 1.0), (8, 8.0)):
        layer = _wrap(sub, 10, 6, r, alpha, 0, device)
        A, B = torch.randn(r, 10, generator=g), torch.randn(6, r, generator=g)
        sub.eval(_SET_AB)(layer, A.to(device), B.to(device))
        st = _state(sub, layer)
        if abs(st["scaling"] - alpha / r) > 1e-12:
            fail(
                f"LoRALinear(base, r={r}, alpha={alpha}).scaling is {st['scaling']}, expected alpha / r = {alpha / r}.",
                hint="scaling = alpha / r, as in the LoRA paper and peft.",
            )
        x = torch.randn(4, 10, generator=g)
        got = sub.eval(_FORWARD)(layer, x, device)
        want = _lora_forward(st["W"], st["b"], A, B, x, alpha / r)
        if got.shape == want.shape and not torch.allclose(got.double(), want, rtol=1e-4, atol=1e-4):
            for s, why in ((alpha, "the correction is scaled by alpha, not alpha / r"), (1.0, "it is not scaled")):
                if torch.allclose(got.double(), _lora_forward(st["W"], st["b"], A, B, x, s), rtol=1e-4, atol=1e-4):
                    fail(f"LoRALinear(r={r}, alpha={alpha}) is off: {why}.", hint=_FORMULA)
        assert_close(got, want, rtol=1e-4, atol=1e-4, name=f"LoRALinear(r={r}, alpha={alpha})(x)", hint=_FORMULA)


@pytest.mark.points(2)
def test_merge_folds_the_update_into_the_weight_and_unmerge_restores_it(sub: Any, device: str, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    r, alpha = 4, 6.0
    layer = _wrap(sub, 9, 5, r, alpha, 1, device)
    A, B = torch.randn(r, 9, generator=g), torch.randn(5, r, generator=g)
    sub.eval(_SET_AB)(layer, A.to(device), B.to(device))
    W0, scaling = _state(sub, layer)["W"], _state(sub, layer)["scaling"]
    if abs(scaling - alpha / r) > 1e-12:
        fail(f"This follows from the scaling problem above: `scaling` is {scaling}, not alpha / r = {alpha / r}.")
    x = torch.randn(6, 9, generator=g)
    before = sub.eval(_FORWARD)(layer, x, device)
    merged_W = W0.double() + (alpha / r) * B.double() @ A.double()
    for attempt in ("merge()", "merge() twice"):
        sub.eval(_METHOD)(layer, "merge")
        st = _state(sub, layer)
        if not st["merged"]:
            fail(f"After {attempt}, `merged` is False.", hint=_MERGE)
        assert_close(st["W"], merged_W, rtol=1e-5, atol=1e-5, name=f"base.weight after {attempt}", hint=_MERGE)
        after = sub.eval(_FORWARD)(layer, x, device)
        assert_close(after, before, rtol=1e-4, atol=1e-4, name=f"the layer's output after {attempt}", hint=_MERGE)
    for attempt in ("unmerge()", "unmerge() twice"):
        sub.eval(_METHOD)(layer, "unmerge")
        st = _state(sub, layer)
        if st["merged"]:
            fail(f"After {attempt}, `merged` is still True.", hint=_MERGE)
        assert_close(st["W"], W0, rtol=1e-5, atol=1e-5, name=f"base.weight after {attempt}", hint=_MERGE)
        assert_close(
            sub.eval(_FORWARD)(layer, x, device),
            before,
            rtol=1e-4,
            atol=1e-4,
            name=f"output after {attempt}",
            hint=_MERGE,
        )


def _adapted_gpt(sub: Any, device: str, seed: int) -> tuple[RemoteRef, dict[str, Any]]:
    """The pretrained reference GPT, built in the kernel and passed through the learner's apply_lora."""
    __tracebackhide__ = True
    model = sub.eval(_BUILD_REF)(_REF_PATH.read_text(encoding="utf-8"), _REF_CFG, _pretrained(), device)
    same, model = sub.eval(_APPLY)(sub.apply_lora, model, _R, _ALPHA, _TARGETS, seed)
    if not same:
        fail(
            "`apply_lora(model, ...)` did not return the model it was given.", hint="Modify it in place and return it."
        )
    return model, sub.eval(_PARAMS)(model)


def _expected_adapters() -> dict[str, tuple[int, int]]:
    C, L = _REF_CFG["n_embd"], _REF_CFG["n_layer"]
    shapes = {"attn.c_attn": (C, 3 * C), "attn.c_proj": (C, C), "mlp.c_fc": (C, 4 * C), "mlp.c_proj": (4 * C, C)}
    want = {}
    for i in range(L):
        for path, (n_in, n_out) in shapes.items():
            want[f"transformer.h.{i}.{path}.lora_A"] = (_R, n_in)
            want[f"transformer.h.{i}.{path}.lora_B"] = (n_out, _R)
    return want


@pytest.mark.points(2)
def test_apply_lora_adapts_only_the_targeted_layers_of_the_gpt(sub: Any, device: str, seed: int) -> None:
    model, params = _adapted_gpt(sub, device, seed % 2**31)
    want_trainable = _expected_adapters()
    trainable = {n: tuple(p.shape) for n, (p, g) in params.items() if g}
    if set(trainable) - set(want_trainable):
        extra = sorted(set(trainable) - set(want_trainable))[0]
        fail(
            f"After apply_lora(model, r={_R}, alpha={_ALPHA}, targets={_TARGETS}), {extra!r} still requires a "
            "gradient: only the adapters may train.",
            hint="Freeze the whole model first (model.requires_grad_(False)), then add the adapters.",
        )
    if set(want_trainable) - set(trainable):
        missing = sorted(set(want_trainable) - set(trainable))[0]
        fail(
            f"After apply_lora(model, r={_R}, alpha={_ALPHA}, targets={_TARGETS}), there is no trainable {missing!r}.",
            hint="Replace every nn.Linear whose attribute name is in targets (here c_attn, c_proj and c_fc, in every "
            "block) by LoRALinear(that_linear, r, alpha), on its parent module.",
        )
    if trainable != want_trainable:
        name = next(n for n in want_trainable if trainable[n] != want_trainable[n])
        fail(f"{name!r} has shape {trainable[name]}, expected {want_trainable[name]}.")
    if any(n.startswith("lm_head") and n.endswith(("lora_A", "lora_B")) for n in params):
        fail("`lm_head` got an adapter although it is not in targets.", hint="Adapt only the layers named in targets.")
    n_base = sum(p.numel() for p in _pretrained().values()) - _pretrained()["lm_head.weight"].numel()  # tied
    n_total = sum(p.numel() for p, _ in params.values())
    n_lora = sum(math.prod(s) for s in want_trainable.values())
    if n_total != n_base + n_lora:
        fail(
            f"The adapted model has {n_total} parameters; expected the {n_base} pretrained ones plus {n_lora} "
            "adapter parameters.",
            hint="Wrap each targeted layer once, keeping it as `base`; do not copy the model's weights.",
        )
    x, _ = _windows(_handbook()[1], _REF_CFG["block_size"])
    got = sub.eval(_LOGITS)(model, x[:4], device)
    with torch.no_grad(), _ref().one_thread():
        want = _ref().build(dict(_REF_CFG), _pretrained(), dtype=torch.float64)(x[:4])[0]
    assert_close(got, want, rtol=1e-4, atol=1e-4, name="the freshly adapted GPT's logits", hint=_INIT)
    with expect_raises(
        "ValueError",
        name="apply_lora(model, 4, 8.0, targets=['no_such_layer'])",
        hint="Raise ValueError when no nn.Linear is named in targets.",
    ):
        sub.eval(_APPLY)(sub.apply_lora, model, _R, _ALPHA, ["no_such_layer"], 0)


@pytest.mark.points(2)
def test_finetuning_lowers_the_held_out_loss_and_changes_only_the_adapters(
    sub: Any, device: str, seed: int, plot: Any
) -> None:
    model, before = _adapted_gpt(sub, device, 0)
    if sorted(n for n, (_, g_) in before.items() if g_) != sorted(_expected_adapters()):
        fail(
            "This follows from the problem in the apply_lora test above: the adapted GPT's trainable parameters are "
            "not the adapters of c_attn, c_proj and c_fc."
        )
    scalings = sub.eval(_SCALINGS)(model, sub.LoRALinear)
    if any(abs(v - _ALPHA / _R) > 1e-12 for v in scalings):
        fail(f"This follows from the scaling problem above: the adapters' scaling is {scalings[0]}, not alpha / r.")
    train, held_out = _handbook()
    x, y = _windows(held_out, _REF_CFG["block_size"])
    with torch.no_grad(), _ref().one_thread():
        base_loss = _loss(_ref().build(dict(_REF_CFG), _pretrained(), dtype=torch.float64)(x)[0], y)
    with torch.no_grad(), _ref().one_thread():
        base_logits = _ref().build(dict(_REF_CFG), _pretrained(), dtype=torch.float64)(x[:4])[0]
    if not torch.allclose(sub.eval(_LOGITS)(model, x[:4], device).double(), base_logits, rtol=1e-4, atol=1e-4):
        fail(
            "This follows from the problem in the apply_lora test above: the freshly adapted GPT does not compute "
            "the pretrained model's logits, so fine-tuning cannot be checked."
        )
    losses = sub.eval(_FINETUNE)(sub.finetune, model, train, device, _FT)
    if not isinstance(losses, list) or len(losses) != _FT["steps"]:
        fail(f"`finetune(..., steps={_FT['steps']}, ...)` should return a list of {_FT['steps']} losses.")
    # the first step's loss is the pretrained model's on the first seeded batch
    g = torch.Generator().manual_seed(_FT["seed"])
    T = _FT["block_size"]
    starts = torch.randint(0, len(train) - T, (_FT["batch_size"],), generator=g)
    bx = torch.stack([train[i : i + T] for i in starts])
    by = torch.stack([train[i + 1 : i + T + 1] for i in starts])
    with torch.no_grad(), _ref().one_thread():
        first = _loss(_ref().build(dict(_REF_CFG), _pretrained(), dtype=torch.float64)(bx)[0], by)
    assert_close(
        float(losses[0]),
        first,
        rtol=1e-4,
        atol=1e-4,
        name="the loss of finetune's first step",
        hint="Draw the window starts with torch.randint(0, N - block_size, (batch_size,), generator=g) from "
        "g = torch.Generator().manual_seed(seed); x = data[i : i + block_size], y = data[i + 1 : i + block_size + 1]; "
        "the loss is the mean cross-entropy over the batch.",
    )
    after = sub.eval(_PARAMS)(model)
    for name, (value, trainable) in after.items():
        if not trainable and not torch.equal(value, before[name][0]):
            fail(
                f"Fine-tuning changed the frozen parameter {name!r}: only the adapters may change.",
                hint="Build AdamW over the parameters with requires_grad only, and keep the base frozen.",
            )
    if all(torch.equal(value, before[name][0]) for name, (value, g_) in after.items() if g_):
        fail("Fine-tuning did not change any adapter parameter.", hint="Call loss.backward() and opt.step() each step.")
    tuned = sub.eval(_LOGITS)(model, x, device)
    tuned_loss = _loss(tuned, y)
    plot(
        "curve",
        f"LoRA fine-tuning on the handbook: training loss per step (held-out: {base_loss:.3f} -> {tuned_loss:.3f})",
        learner=[float(v) for v in losses],
        reference=base_loss,
    )
    if tuned_loss > base_loss - MIN_DROP:
        fail(
            f"After fine-tuning, the held-out handbook loss is {tuned_loss:.3f} nats; the pretrained model's is "
            f"{base_loss:.3f}. It should drop by at least {MIN_DROP}.",
            hint="AdamW(lr=lr) over the adapters' parameters, steps of zero_grad, loss.backward(), step, with the "
            "model in train() mode.",
        )
    # merging every adapter must leave the logits as they are, with base.weight = W + scaling * B @ A
    sub.eval(_MERGE_ALL)(model, sub.LoRALinear)
    merged = sub.eval(_PARAMS)(model)
    for path in ("transformer.h.0.attn.c_attn", "transformer.h.0.mlp.c_fc"):
        A, B = after[path + ".lora_A"][0].double(), after[path + ".lora_B"][0].double()
        assert_close(
            merged[path + ".base.weight"][0],
            after[path + ".base.weight"][0].double() + (_ALPHA / _R) * B @ A,
            rtol=1e-5,
            atol=1e-5,
            name=f"{path}.base.weight after merge()",
            hint=_MERGE,
        )
    assert_close(
        sub.eval(_LOGITS)(model, x, device), tuned, rtol=1e-4, atol=1e-4, name="logits after merging", hint=_MERGE
    )
