"""The codec round-trips every supported type exactly, and refuses everything else by name."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.engine import codec
from grader.engine.remote import LearnerError, Session


def roundtrip(value: object) -> object:
    return codec.loads(codec.dumps(value))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(),
    st.complex_numbers(allow_nan=False),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


@given(values)
def test_python_values_roundtrip_exactly(value: object) -> None:
    out = roundtrip(value)
    assert out == value
    assert type(out) is type(value)


@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf, 2**80, -(2**70)])
def test_special_numbers(x: float) -> None:
    out = roundtrip(x)
    assert type(out) is type(x)
    assert (math.isnan(out) and math.isnan(x)) or out == x  # type: ignore[arg-type]


def test_sets_keep_their_type() -> None:
    assert roundtrip({1, 2}) == {1, 2}
    assert type(roundtrip(frozenset({"a"}))) is frozenset


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.array([1.5, np.nan, np.inf]),
        np.array([[True, False]]),
        np.arange(5, dtype=np.int64)[::2],  # not contiguous
        np.array([1 + 2j], dtype=np.complex128),
        np.array(["2024-01-01", "NaT"], dtype="datetime64[ns]"),
        np.array(["ab", "c"]),
        np.zeros((0, 3)),
        np.array(3.0),
        np.arange(4, dtype=">i4"),  # big-endian comes back little-endian, same values
    ],
    ids=lambda a: f"{a.dtype}-{a.shape}",
)
def test_arrays_roundtrip_with_dtype_and_shape(arr: np.ndarray) -> None:
    out = roundtrip(arr)
    assert isinstance(out, np.ndarray)
    assert out.shape == arr.shape
    assert out.dtype == arr.dtype.newbyteorder("=")
    np.testing.assert_array_equal(out, arr)


def test_numpy_scalars_keep_their_dtype() -> None:
    for x in (np.float32(1.5), np.int16(-3), np.bool_(True), np.float64(np.nan)):
        out = roundtrip(x)
        assert type(out) is type(x)


def test_object_arrays_are_carried_as_items() -> None:
    arr = np.array([1, "a", None], dtype=object)
    out = roundtrip(arr)
    assert out.dtype == object and list(out) == [1, "a", None]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.bool, torch.bfloat16])
def test_tensors_roundtrip(dtype: torch.dtype) -> None:
    t = (torch.arange(6).reshape(2, 3) % 2).to(dtype)
    out = roundtrip(t)
    assert isinstance(out, torch.Tensor) and out.dtype == dtype and out.shape == t.shape
    assert torch.equal(out, t)


def test_tensor_with_grad_is_detached() -> None:
    t = torch.ones(2, requires_grad=True) * 2
    out = roundtrip(t)
    assert not out.requires_grad
    assert torch.equal(out, torch.tensor([2.0, 2.0]))


def test_dataframes_keep_dtypes_index_and_missing_values() -> None:
    df = pd.DataFrame(
        {
            "x": [1.0, np.nan, 3.0],
            "n": np.array([1, 2, 3], dtype=np.int32),
            "s": pd.array(["a", None, "c"], dtype="str"),
            "c": pd.Categorical(["lo", "hi", "lo"], categories=["lo", "hi"], ordered=True),
            "b": [True, False, True],
            "t": pd.to_datetime(["2020-01-01", "2020-01-02", None]),
        },
        index=pd.Index(["r1", "r2", "r3"], name="row"),
    )
    out = roundtrip(df)
    pd.testing.assert_frame_equal(out, df)


def test_series_and_indexes() -> None:
    s = pd.Series([1.5, 2.5], index=pd.RangeIndex(10, 12, name="i"), name="value")
    pd.testing.assert_series_equal(roundtrip(s), s)
    mi = pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "n"])
    df = pd.DataFrame({"v": [1, 2]}, index=mi)
    pd.testing.assert_frame_equal(roundtrip(df), df)
    grouped = pd.DataFrame({"g": ["a", "b", "a"], "v": [1.0, 2.0, 3.0]}).groupby("g").mean()
    pd.testing.assert_frame_equal(roundtrip(grouped), grouped)


class Lying:
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (lambda x: x, "function"),
        (Lying(), "Lying"),
        (np.recarray((1,), dtype=[("a", "i4")]), "recarray"),
        (np.ma.masked_array([1, 2]), "MaskedArray"),
        ([1, object()], "object"),
    ],
)
def test_unsupported_values_are_refused_by_name(value: object, named: str) -> None:
    with pytest.raises(codec.CodecError, match=named) as err:
        codec.encode(value)
    assert "supported:" in str(err.value)


def test_subclasses_of_containers_are_not_trusted() -> None:
    class MyList(list):  # type: ignore[type-arg]
        pass

    with pytest.raises(codec.CodecError, match="MyList"):
        codec.encode(MyList([1]))


def test_fallback_replaces_only_unsupported_leaves() -> None:
    out = codec.encode([1, Lying()], fallback=lambda v: {codec.TAG: "ref", "id": 7})
    assert out == [1, {codec.TAG: "ref", "id": 7}]


@pytest.mark.parametrize(
    "payload",
    [
        {codec.TAG: "pickle", "data": "gASV"},
        {"plain": "dict without a tag"},
        {codec.TAG: "ndarray", "dtype": "|O", "shape": [1], "data": ""},
        {codec.TAG: "ref", "id": 1},
    ],
)
def test_malformed_or_unknown_payloads_are_refused(payload: object) -> None:
    with pytest.raises(codec.CodecError):
        codec.loads(json.dumps(payload))


def test_output_is_plain_json_without_nan_literals() -> None:
    text = codec.dumps({"a": [np.float64("nan"), math.inf]})
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text)


def _nested(depth: int) -> object:
    value: object = 0.0
    for _ in range(depth):
        value = (value,)
    return value


def test_nesting_is_bounded_on_both_sides() -> None:
    """The grader refuses a value nested past MAX_DEPTH before recursing into it; the agent says so first."""
    assert roundtrip(_nested(codec.MAX_DEPTH - 1)) == _nested(codec.MAX_DEPTH - 1)
    with pytest.raises(codec.CodecError, match="nested more than"):
        codec.encode(_nested(codec.MAX_DEPTH + 1))
    deep = '{"$": "tuple", "items": [' * (codec.MAX_DEPTH + 1) + "0" + "]}" * (codec.MAX_DEPTH + 1)
    with pytest.raises(codec.CodecError, match="nested more than"):
        codec.decode(json.loads(deep))


class _Forger:
    """A transport whose kernel answers with whatever the test forged: a learner can replace the agent."""

    kind = "module"
    display = "ml-basics/x.py"

    def __init__(self, reply: object) -> None:
        self.reply = reply

    def request(self, req: dict[str, object]) -> object:
        return self.reply

    def missing_name_note(self) -> tuple[str, bool, bool]:
        return "", False, False


FORGED_REPLIES = [
    ["not", "a", "dict"],
    {"weird": 1},
    {"ok_json": 12},
    {"ok_json": "{not json"},
    {"ok_json": '{"$": "ref", "id": "x"}'},
    {"ok_json": '{"$": "ndarray", "dtype": "<f8", "shape": [5], "data": "AAAA"}'},
    {"ok_json": "[" * 200_000 + "]" * 200_000},
    {"ok_json": '{"$": "tuple", "items": [' * 5_000 + "]}" * 5_000},
    {"error": ["not", "a", "dict"]},
    {"error": {"type": 5, "message": None, "frames": [{"line": "3\n::stop-commands::x", "cell": []}, "junk"]}},
]


@pytest.mark.parametrize("reply", FORGED_REPLIES, ids=range(len(FORGED_REPLIES)))
def test_a_forged_reply_is_the_learners_error_never_ours(reply: object) -> None:
    session = Session(_Forger(reply))  # type: ignore[arg-type]
    with pytest.raises(LearnerError) as caught:
        session.request({"op": "get", "name": "x"}, "reading `x`")
    for frame in caught.value.frames:
        assert frame.line is None or isinstance(frame.line, int)
        assert frame.cell is None or isinstance(frame.cell, int)
