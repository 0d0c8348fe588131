"""Hidden suite for llm/sampling: `sample_next`, `generate` and `beam_search`.

Randomness is checked statistically, not draw by draw: a torch.Generator seeded from the test's
seed is built in the kernel (on the `device` fixture), so each run is reproducible, and frequencies
are compared with the expected distribution by a chi-square test at p < 1e-6 (a correct sampler
fails it once in a million; every known mistake fails it by hundreds of sigmas). The models that
`generate` and `beam_search` drive are tiny deterministic toys built in the kernel: their next-token
scores depend only on the last token.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from grader.helpers import ON_DEVICE, assert_close, assert_equal, expect_raises, fail

# Runs in the learner's kernel, exec'd into a fresh namespace.
_KERNEL = '''
import torch

def make_generator(seed, device):
    return torch.Generator(device=device).manual_seed(seed)

class Bigram(torch.nn.Module):
    """A toy language model: the logits at each position depend only on that position's token."""

    def __init__(self, table, return_tuple=False):
        super().__init__()
        self.table = torch.nn.Parameter(table.clone())  # (V, V)
        self.return_tuple = return_tuple
        self.contexts = []  # every input it was called with

    def forward(self, idx):
        self.contexts.append(idx.detach().cpu().clone())
        logits = self.table[idx]  # (B, T, V)
        return (logits, None) if self.return_tuple else logits

def bigram(table, device, return_tuple=False):
    return Bigram(table, return_tuple).to(device)

class Markov:
    """step_logprobs for beam search: log-probabilities of the next token given the last one."""

    def __init__(self, logp, device):
        self.logp = logp.to(device)  # (V, V)
        self.calls = []  # every sequence it was asked about

    def __call__(self, seq):
        self.calls.append([int(t) for t in seq])
        return self.logp[int(seq[-1])].clone()
'''
_P_MIN = 1e-6

_TEMPERATURE = "Divide the logits by the temperature before the softmax: softmax(logits / temperature)."
_TOP_K = "Keep the top_k largest logits of each row and set the others to -inf before the softmax."
_TOP_P = (
    "Nucleus sampling keeps the smallest set of most likely tokens whose total probability reaches top_p: "
    "keep the token that crosses top_p (keep a token while the mass before it is < top_p), so at least one "
    "token always survives."
)
_GENERATOR = "Draw with torch.multinomial(probs, 1, generator=generator): the generator is the only randomness."


class _Kernel:
    def __init__(self, sub: Any, device: str) -> None:
        self.sub = sub
        self.device = device
        self.h = sub.define(ON_DEVICE + _KERNEL)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        wrapped = self.h["on_device"](getattr(self.sub, name), self.device)
        wrapped._label = name  # learner-facing messages name the learner's function
        out, devices, changed = wrapped(*args, **kwargs)
        if changed:
            fail(f"`{name}` modified one of its input tensors.", hint="Never change logits or idx in place.")
        if isinstance(out, torch.Tensor):
            want = torch.device(self.device).type
            if devices != [want]:
                fail(f"`{name}` returned a tensor on {', '.join(devices)}, expected {want} (the inputs' device).")
        return out

    def generator(self, seed: int) -> Any:
        return self.h["make_generator"](seed, self.device)

    def sample(self, logits: torch.Tensor, **kwargs: Any) -> np.ndarray:
        """sample_next on `logits`, checked to be an int64 tensor of shape logits.shape[:-1]."""
        __tracebackhide__ = True
        out = self.call("sample_next", logits, **kwargs)
        if not isinstance(out, torch.Tensor) or out.dtype != torch.int64:
            kind = out.dtype if isinstance(out, torch.Tensor) else type(out).__name__
            fail(
                f"`sample_next` should return an int64 tensor, but returned {kind}.",
                hint="torch.multinomial gives int64.",
            )
        if tuple(out.shape) != tuple(logits.shape[:-1]):
            fail(
                f"`sample_next` on logits of shape {tuple(logits.shape)} returned shape {tuple(out.shape)}, "
                f"expected {tuple(logits.shape[:-1])}: one token id per row."
            )
        got = out.numpy()
        if ((got < 0) | (got >= logits.shape[-1])).any():
            fail(f"`sample_next` returned token ids outside 0..{logits.shape[-1] - 1}.")
        return got


def _counts(samples: np.ndarray, V: int) -> np.ndarray:
    return np.bincount(samples.ravel(), minlength=V)


def _chi2_p(counts: np.ndarray, probs: np.ndarray) -> float:
    """p-value of the counts under `probs`; a count on a zero-probability token gives 0."""
    support = probs > 0
    if counts[~support].any():
        return 0.0
    expected = probs[support] / probs[support].sum() * counts.sum()
    return float(chisquare(counts[support], expected).pvalue)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()


def _nucleus(probs: np.ndarray, top_p: float) -> np.ndarray:
    order = np.argsort(-probs, kind="stable")
    before = np.cumsum(probs[order]) - probs[order]
    keep = np.zeros(len(probs), dtype=bool)
    keep[order[before < top_p]] = True
    out = np.where(keep, probs, 0.0)
    return out / out.sum()


def _check_frequencies(
    counts: np.ndarray, probs: np.ndarray, what: str, hint: str, wrong: dict[str, np.ndarray]
) -> None:
    __tracebackhide__ = True
    p = _chi2_p(counts, probs)
    if p >= _P_MIN:
        return
    for why, alt in wrong.items():
        if _chi2_p(counts, alt) >= _P_MIN:
            hint = why
            break
    n = counts.sum()
    fail(
        f"{what}: the token frequencies do not follow the expected distribution (chi-square p = {p:.2g}).\n"
        f"  observed: {np.round(counts / n, 3).tolist()}\n  expected: {np.round(probs, 3).tolist()}",
        hint=hint,
    )


# ---------------------------------------------------------------- sample_next


@pytest.mark.public
@pytest.mark.points(1)
def test_greedy_and_reproducible(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(6, 10, generator=g, dtype=torch.float64)
    argmax = logits.argmax(-1).numpy()
    got = k.sample(logits, temperature=0.0)
    assert_equal(
        got, argmax, name="sample_next(logits, temperature=0)", hint="temperature=0 is greedy: argmax of each row."
    )
    got = k.sample(logits, temperature=1e-4, generator=k.generator(seed))
    assert_equal(
        got,
        argmax,
        name="sample_next(logits, temperature=1e-4)",
        hint="A temperature near 0 must pick the argmax. " + _TEMPERATURE,
    )
    one = k.call("sample_next", logits[0], temperature=0.0)
    if not isinstance(one, torch.Tensor) or one.shape != () or int(one) != int(argmax[0]):
        fail(
            "`sample_next` on 1-D logits (V,) should return a 0-d int64 tensor holding the argmax.",
            hint="out[0] of the (1,)-shaped result.",
        )
    with expect_raises(
        "ValueError", name="sample_next with temperature=-1", hint="A negative temperature raises ValueError."
    ):
        sub.sample_next(logits, temperature=-1.0)
    flat = torch.zeros(300, 8, dtype=torch.float64)
    first = k.sample(flat, generator=k.generator(seed))
    again = k.sample(flat, generator=k.generator(seed))
    assert_equal(again, first, name="samples drawn again with a generator of the same seed", hint=_GENERATOR)
    other = k.sample(flat, generator=k.generator(seed + 1))
    if np.array_equal(other, first):
        fail("Generators with different seeds gave the same 300 samples.", hint=_GENERATOR)


@pytest.mark.points(1.5)
def test_frequencies_follow_softmax(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    logits = np.array([1.2, -0.3, 0.4, 2.0, 0.0, -1.0])
    n = 20000
    rows = torch.tensor(logits).expand(n, 6).contiguous()
    for i, temperature in enumerate((1.0, 0.6, 2.5)):
        got = k.sample(rows, temperature=temperature, generator=k.generator(seed + i))
        _check_frequencies(
            _counts(got, 6),
            _softmax(logits / temperature),
            f"{n} draws at temperature={temperature}",
            "Draw from softmax(logits / temperature) with torch.multinomial.",
            {
                _TEMPERATURE
                + " Dividing the probabilities after the softmax changes nothing once they are renormalised.": _softmax(
                    logits
                ),
                "Divide the logits by the temperature; do not multiply them.": _softmax(logits * temperature),
            },
        )


@pytest.mark.points(1)
def test_top_k_keeps_exactly_k(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    rng = np.random.default_rng(seed)
    V, top_k, n = 20, 5, 8000
    logits = rng.permutation(np.concatenate([np.linspace(1.0, 1.6, top_k), np.linspace(0.0, 0.9, V - top_k)]))
    kept = np.argsort(-logits)[:top_k]
    rows = torch.tensor(logits).expand(n, V).contiguous()
    got = k.sample(rows, top_k=top_k, generator=k.generator(seed))
    support = set(np.unique(got).tolist())
    if support != set(kept.tolist()):
        fail(
            f"With top_k={top_k}, {n} draws used {len(support)} distinct tokens {sorted(support)}; expected exactly "
            f"the {top_k} highest logits {sorted(kept.tolist())}.",
            hint=_TOP_K,
        )
    probs = np.where(np.isin(np.arange(V), kept), _softmax(logits), 0.0)
    _check_frequencies(
        _counts(got, V),
        probs / probs.sum(),
        f"top_k={top_k}",
        "Renormalise over the kept tokens (softmax of the filtered logits).",
        {},
    )
    got = k.sample(rows[:2000], top_k=V + 3, generator=k.generator(seed + 1))
    if len(np.unique(got)) != V:
        fail(
            f"With top_k={V + 3} > V={V}, every token should stay possible, but only {len(np.unique(got))} appeared.",
            hint=_TOP_K,
        )


@pytest.mark.points(1.5)
def test_top_p_keeps_the_smallest_nucleus(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    rng = np.random.default_rng(seed)
    n = 8000
    for probs_sorted, top_p, temperature in (
        ([0.4, 0.3, 0.2, 0.1], 0.65, 1.0),  # keep 0.4 and 0.3: 0.3 crosses 0.65
        ([0.45, 0.25, 0.15, 0.1, 0.05], 0.8, 1.0),  # keep four
        ([0.45, 0.25, 0.15, 0.1, 0.05], 0.8, 0.5),  # sharper after the temperature: fewer survive
    ):
        perm = rng.permutation(len(probs_sorted))
        logits = np.log(np.array(probs_sorted))[perm]
        probs = _softmax(logits / temperature)
        exp = _nucleus(probs, top_p)
        rows = torch.tensor(logits).expand(n, len(logits)).contiguous()
        if temperature != 1.0:
            plain = k.sample(rows, temperature=temperature, generator=k.generator(seed + 1))
            if _chi2_p(_counts(plain, len(logits)), probs) < _P_MIN:
                fail(
                    f"Without top_p, draws at temperature={temperature} already do not follow "
                    "softmax(logits / temperature): this follows from the temperature problem reported by "
                    "test_frequencies_follow_softmax above."
                )
        got = k.sample(rows, top_p=top_p, temperature=temperature, generator=k.generator(seed))
        support, want = set(np.unique(got).tolist()), set(np.flatnonzero(exp).tolist())
        if support != want:
            before = set(np.flatnonzero(_nucleus(_softmax(logits), top_p)).tolist())
            fail(
                f"With probabilities {np.round(probs, 3).tolist()} (after temperature={temperature}) and "
                f"top_p={top_p}, "
                f"your draws used tokens {sorted(support)}; the nucleus is {sorted(want)}.",
                hint="Apply top-p after the temperature: take the nucleus of softmax(logits / temperature)."
                if temperature != 1.0 and support == before
                else _TOP_P,
            )
        _check_frequencies(_counts(got, len(logits)), exp, f"top_p={top_p}", "Renormalise over the nucleus.", {})
    # one token alone is above top_p: it must survive (never an empty nucleus)
    logits = torch.tensor([[0.0, 4.0, 1.0, 0.5]], dtype=torch.float64).expand(50, 4).contiguous()
    got = k.sample(logits, top_p=0.3, generator=k.generator(seed))
    if not (got == 1).all():
        fail("With p(token 1) = 0.92 and top_p=0.3, only token 1 should ever be drawn.", hint=_TOP_P)


# ---------------------------------------------------------------- generate


def _greedy_path(table: torch.Tensor, start: list[int], n: int) -> list[int]:
    seq = list(start)
    for _ in range(n):
        seq.append(int(table[seq[-1]].argmax()))
    return seq


def _sample_premise(k: _Kernel) -> None:
    """generate relies on sample_next: fail without a guess when greedy or top_k=1 sampling is already wrong."""
    __tracebackhide__ = True
    logits = torch.randn(40, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    argmax = logits.argmax(-1).numpy()
    for kwargs in ({"temperature": 0.0}, {"top_k": 1, "generator": k.generator(0)}):
        got = k.call("sample_next", logits, **kwargs)
        if not isinstance(got, torch.Tensor) or got.shape != (40,) or not np.array_equal(got.numpy(), argmax):
            fail(
                "sample_next is already wrong on plain logits (temperature=0, or top_k=1): this follows from the "
                "problem reported by the sample_next tests above; fix that first."
            )


@pytest.mark.public
@pytest.mark.points(1)
def test_generate_greedy_with_a_toy_model(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    _sample_premise(k)
    g = torch.Generator().manual_seed(seed)
    V = 7
    table = torch.randn(V, V, generator=g, dtype=torch.float64) * 3
    idx = torch.tensor([[0, 3, 5], [2, 2, 6]])
    for return_tuple in (False, True):
        model = k.h["bigram"](table, device, return_tuple)
        out = k.call("generate", model, idx, 6, temperature=0.0)
        what = "generate(model, idx, 6, temperature=0)" + (
            " with a model returning (logits, loss)" if return_tuple else ""
        )
        if not isinstance(out, torch.Tensor) or out.dtype != torch.int64 or tuple(out.shape) != (2, 9):
            got = f"{out.dtype} of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
            fail(
                f"{what} returned {got}; expected an int64 tensor of shape (2, 9): the prompt followed by 6 new tokens."
            )
        assert_equal(
            out[:, :3].numpy(),
            idx.numpy(),
            name=f"the first 3 tokens of {what}",
            hint="Return idx followed by the new tokens.",
        )
        exp = np.array([_greedy_path(table, row.tolist(), 6) for row in idx])
        assert_equal(
            out.numpy(),
            exp,
            name=what,
            hint="Each new token comes from the logits at the last position, logits[:, -1, :], appended before the "
            "next call. A model may return a tuple (logits, loss): use its first element.",
        )
        calls = len(model.contexts)
        if calls != 6:
            fail(f"{what} called the model {calls} times, expected once per new token (6).")
    # top_k=1 is greedy too: the sampling options must reach sample_next
    model = k.h["bigram"](table, device)
    out = k.call("generate", model, idx, 4, temperature=1.0, top_k=1, generator=k.generator(seed))
    assert_equal(
        out.numpy(),
        np.array([_greedy_path(table, row.tolist(), 4) for row in idx]),
        name="generate(..., top_k=1)",
        hint="Pass temperature, top_k, top_p and generator on to sample_next.",
    )


@pytest.mark.points(1)
def test_generate_crops_to_block_size_and_is_reproducible(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    _sample_premise(k)
    g = torch.Generator().manual_seed(seed)
    table = torch.randn(5, 5, generator=g, dtype=torch.float64)
    idx = torch.tensor([[1, 2, 3, 4, 0], [4, 3, 2, 1, 0]])
    model = k.h["bigram"](table, device)
    model.train()
    out = k.call("generate", model, idx, 6, block_size=3, generator=k.generator(seed))
    if not model.training:
        fail(
            "A model handed to `generate` in training mode came back in evaluation mode.",
            hint="generate leaves the model's train/eval mode as it is: do not call model.eval() in it.",
        )
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, 11):
        fail(
            "generate did not return the prompt followed by the new tokens: this follows from the problem reported "
            "by test_generate_greedy_with_a_toy_model above."
        )
    again = k.call("generate", k.h["bigram"](table, device), idx, 6, block_size=3, generator=k.generator(seed))
    assert_equal(again.numpy(), out.numpy(), name="generate with a generator of the same seed, twice", hint=_GENERATOR)
    contexts = model.contexts
    lengths = [int(c.shape[1]) for c in contexts]
    if lengths != [3] * 6:
        fail(
            f"With block_size=3 the model saw contexts of lengths {lengths}; it should only ever see the last "
            "3 tokens.",
            hint="Crop the context before each call: model(seq[:, -block_size:]).",
        )
    for i, ctx in enumerate(contexts):
        assert_equal(
            ctx.numpy(),
            out[:, 5 + i - 3 : 5 + i].numpy(),
            name=f"the context of model call {i}",
            hint="Crop to the last block_size tokens of the sequence so far (prompt plus new tokens).",
        )


# ---------------------------------------------------------------- beam search


def _logp_table(probs: list[list[float]]) -> torch.Tensor:
    p = torch.tensor(probs, dtype=torch.float64)
    return (p / p.sum(-1, keepdim=True)).log()


def _ref_beam(logp: torch.Tensor, bos: int, width: int, max_len: int, eos: int) -> tuple[list[int], float]:
    beams: list[tuple[list[int], float]] = [([bos], 0.0)]
    finished: list[tuple[list[int], float]] = []
    for _ in range(max_len):
        cands = [([*s, t], sc + float(logp[s[-1], t])) for s, sc in beams for t in range(logp.shape[1])]
        cands.sort(key=lambda c: (-c[1], c[0]))
        beams = []
        for s, sc in cands[:width]:
            (finished if s[-1] == eos else beams).append((s, sc))
        if not beams:
            break
    return min(finished + beams, key=lambda c: (-c[1], c[0]))


def _best_sequence(logp: torch.Tensor, bos: int, max_len: int, eos: int) -> tuple[list[int], float]:
    """Exhaustive search over every sequence (finished, or cut at max_len)."""
    best: tuple[list[int], float] = ([bos], -math.inf)
    V = logp.shape[1]
    for n in range(1, max_len + 1):
        for tail in itertools.product(range(V), repeat=n):
            if eos in tail[:-1] or (n < max_len and tail[-1] != eos):
                continue
            seq = [bos, *tail]
            score = sum(float(logp[a, b]) for a, b in itertools.pairwise(seq))
            if score > best[1]:
                best = (seq, score)
    return best


def _beam(
    k: _Kernel, logp: torch.Tensor, bos: int, width: int, max_len: int, eos: int
) -> tuple[list[int], float, list[list[int]]]:
    __tracebackhide__ = True
    step = k.h["Markov"](logp, k.device)
    out = k.call("beam_search", step, bos, width, max_len, eos)
    what = f"beam_search(..., beam_width={width}, max_len={max_len})"
    ok = isinstance(out, tuple | list) and len(out) == 2 and isinstance(out[0], list | tuple)
    if not ok or not isinstance(out[1], float | int):
        fail(f"{what} should return (tokens, score): a list of ints and a float, but returned {out!r:.200}.")
    calls = step.calls
    for s in range(1, max_len + 1):
        expanded = [tuple(c) for c in calls if len(c) == s]
        if len(set(expanded)) > width:
            fail(
                f"{what} expanded {len(set(expanded))} hypotheses of length {s}; it should expand at most "
                f"beam_width={width}.",
                hint="After each step keep only the beam_width best candidates; never expand every node.",
            )
        if len(expanded) > len(set(expanded)):
            fail(
                f"{what} called step_logprobs {len(expanded)} times for {len(set(expanded))} hypotheses of length {s}.",
                hint="Call step_logprobs(seq) once per hypothesis and read every token's log-probability from it.",
            )
    if any(c[-1] == eos for c in calls):
        fail(
            f"{what} expanded a hypothesis that already ended with eos.",
            hint="A hypothesis ending with eos is finished: never expand it again.",
        )
    return [int(t) for t in out[0]], float(out[1]), calls


# Greedy takes token 1 (p 0.5) and then finds nothing good; the best sequence is [0, 2, 4] (0.4 * 0.9).
_TRAP = _logp_table(
    [
        [0.001, 0.5, 0.4, 0.049, 0.05],  # after bos (0)
        [0.05, 0.3, 0.25, 0.2, 0.2],  # after 1: spread out
        [0.02, 0.03, 0.02, 0.03, 0.9],  # after 2: eos is almost certain
        [0.1, 0.2, 0.3, 0.1, 0.3],
        [0.2, 0.2, 0.2, 0.2, 0.2],  # after eos (never asked)
    ]
)


@pytest.mark.public
@pytest.mark.points(1)
def test_beam_width_one_is_greedy(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    g = torch.Generator().manual_seed(seed)
    random_logp = torch.log_softmax(torch.randn(6, 6, generator=g, dtype=torch.float64), -1)
    for logp, max_len, eos in ((_TRAP, 6, 4), (random_logp, 5, 5)):
        tokens, score, _ = _beam(k, logp, 0, 1, max_len, eos)
        seq, total = [0], 0.0
        for _ in range(max_len):
            nxt = int(logp[seq[-1]].argmax())
            total += float(logp[seq[-1], nxt])
            seq.append(nxt)
            if nxt == eos:
                break
        assert_equal(
            tokens,
            seq,
            name=f"beam_search with beam_width=1 (max_len={max_len})",
            hint="With beam_width=1 beam search is greedy decoding: keep only the single best candidate.",
        )
        assert_close(
            score,
            total,
            rtol=1e-9,
            name="its score",
            hint="The score is the sum of the log-probabilities of the tokens after bos.",
        )


@pytest.mark.points(1)
def test_beam_search_beats_greedy(sub: Any, device: str, seed: int) -> None:
    k = _Kernel(sub, device)
    best, best_score = _best_sequence(_TRAP, 0, 4, 4)
    assert best == [0, 2, 4]
    tokens, score, _ = _beam(k, _TRAP, 0, 2, 4, 4)
    assert_equal(
        tokens,
        best,
        name="beam_search(beam_width=2) on a model where greedy decoding misses the best sequence",
        hint="Keep the beam_width best candidates over all hypotheses at each step, move those ending with eos to "
        "the finished list, and return the best finished-or-unfinished hypothesis by total log-probability.",
    )
    assert_close(
        score, best_score, rtol=1e-9, name="its score", hint="The score is the sum of the log-probabilities after bos."
    )
    g = torch.Generator().manual_seed(seed)
    logp = torch.log_softmax(torch.randn(6, 6, generator=g, dtype=torch.float64) * 2, -1)
    exp = _ref_beam(logp, 0, 3, 5, 5)
    tokens, score, _ = _beam(k, logp, 0, 3, 5, 5)
    assert_equal(
        tokens,
        exp[0],
        name="beam_search(beam_width=3, max_len=5) on a random model",
        hint="Follow the steps in the docstring.",
    )
    assert_close(score, exp[1], rtol=1e-9, name="its score")


# The short finished [0, 1] has the best total log-probability (-0.5); the long [0, 2, 2, 2, 2] has the
# best average per token (-0.3): a search that divides by the length picks the wrong one.
_SHORT_VS_LONG = _logp_table(
    [
        [0.043, 0.607, 0.35],  # after bos (0): eos (1) is likely, 2 less so
        [1 / 3, 1 / 3, 1 / 3],  # after eos (never asked)
        [0.01, 0.04, 0.95],  # after 2: 2 again, almost surely
    ]
)


@pytest.mark.points(1)
def test_beam_search_sums_scores_and_breaks_ties_lexicographically(sub: Any, device: str) -> None:
    k = _Kernel(sub, device)
    exp = _ref_beam(_SHORT_VS_LONG, 0, 2, 4, 1)
    assert exp[0] == [0, 1]
    tokens, score, _ = _beam(k, _SHORT_VS_LONG, 0, 2, 4, 1)
    if tokens == [0, 2, 2, 2, 2]:
        fail(
            "beam_search(beam_width=2, max_len=4) returned [0, 2, 2, 2, 2] (total log-probability -1.2) instead of "
            f"[0, 1] ({exp[1]:.3f}): it ranked the hypotheses by their log-probability per token.",
            hint="No length normalisation: rank every hypothesis, finished or not, by its total log-probability.",
        )
    assert_equal(
        tokens,
        exp[0],
        name="beam_search(beam_width=2, max_len=4) where a short hypothesis finishes early",
        hint="No length normalisation: rank every hypothesis, finished or not, by its total log-probability.",
    )
    assert_close(score, exp[1], rtol=1e-9, name="its score")
    # every candidate has the same score: only the tie rule decides
    uniform = torch.full((4, 4), math.log(0.25), dtype=torch.float64)
    exp = _ref_beam(uniform, 0, 2, 2, 3)
    tokens, score, _ = _beam(k, uniform, 0, 2, 2, 3)
    assert_equal(
        tokens,
        exp[0],
        name="beam_search(beam_width=2, max_len=2) where every token has probability 1/4",
        hint="Ties go to the lexicographically smaller token list, both when you keep the beam_width best "
        "candidates and when you pick the result: sort by (-score, tokens).",
    )
