"""The safe codec: values that cross between the grader and a learner kernel.

JSON only, never pickle. Supported: None, bool, int, float, complex, str,
bytes, list, tuple, dict (any supported keys), set/frozenset, NumPy scalars
and arrays (not object dtype), torch tensors, and pandas Series, DataFrame and
Index. Anything else raises :class:`CodecError` with a sentence that names the
type; the kernel side turns such values into remote references instead.

This module is also executed inside learner kernels (its source is sent as
text), so it imports only the standard library and NumPy at top level; pandas
and torch are used only when a value of theirs is met or named.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

SUPPORTED = (
    "None, bool, int, float, complex, str, bytes, list, tuple, dict, set, "
    "NumPy arrays and scalars, torch tensors, pandas Series/DataFrame/Index"
)

TAG = "$"
MAX_DEPTH = 100  # containers inside containers; the grader refuses deeper values before recursing into them
MAX_REPLY_CHARS = 64 * 2**20  # one value, encoded: the agent's courtesy check, and the grader's own


class CodecError(TypeError):
    """A value that the codec cannot carry."""


def _module(name: str) -> Any:
    """A module only if it is already imported: a value of its type cannot exist otherwise."""
    return sys.modules.get(name)


def _np() -> Any:
    import numpy

    return numpy


def _encode_array(arr: Any, fallback: Any = None, depth: int = 0) -> dict[str, Any]:
    np = _np()
    if arr.dtype.hasobject:
        items = [encode(v, fallback, depth + 1) for v in arr.ravel().tolist()]
        return {TAG: "objarray", "shape": list(arr.shape), "items": items}
    if arr.dtype.fields is not None:
        raise CodecError(f"cannot carry a structured array with dtype {arr.dtype}; supported: {SUPPORTED}")
    encoded = (arr.nbytes + 2) // 3 * 4  # base64: known before any work is done
    if encoded > MAX_REPLY_CHARS:
        raise CodecError(
            f"an array of {encoded >> 20} MB once encoded; at most {MAX_REPLY_CHARS >> 20} MB cross between "
            "the grader and the kernel per value"
        )
    dt = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
    data = np.ascontiguousarray(arr, dtype=dt).tobytes()
    return {
        TAG: "ndarray",
        "dtype": dt.str,
        "shape": list(arr.shape),
        "data": base64.b64encode(data).decode("ascii"),
    }


def _decode_array(obj: dict[str, Any]) -> Any:
    np = _np()
    dtype = np.dtype(obj["dtype"])
    if dtype.hasobject:
        raise CodecError("refusing an object-dtype array in binary form")
    shape = tuple(int(n) for n in obj["shape"])
    raw = base64.b64decode(obj["data"], validate=True)
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _encode_float(x: float) -> Any:
    if x != x or x in (float("inf"), float("-inf")):
        return {TAG: "float", "repr": repr(x)}
    return x


def encode(value: Any, fallback: Any = None, depth: int = 0) -> Any:
    """Turn ``value`` into plain JSON data.

    An unsupported value raises :class:`CodecError`, unless ``fallback`` is given:
    then ``fallback(value)`` encodes it (the kernel uses this for remote references).
    """
    if value is None or isinstance(value, bool | str):
        return value
    if depth >= MAX_DEPTH:
        raise _too_deep()
    if isinstance(value, int) and type(value) is int:
        return value if abs(value) < 2**53 else {TAG: "int", "repr": str(value)}
    if type(value) is float:
        return _encode_float(value)
    if type(value) is complex:
        return {TAG: "complex", "re": _encode_float(value.real), "im": _encode_float(value.imag)}
    if type(value) is bytes:
        return {TAG: "bytes", "data": base64.b64encode(value).decode("ascii")}
    if type(value) is list:
        return [encode(v, fallback, depth + 1) for v in value]
    if type(value) is tuple:
        return {TAG: "tuple", "items": [encode(v, fallback, depth + 1) for v in value]}
    if type(value) is dict:
        return {
            TAG: "dict",
            "items": [[encode(k, fallback, depth + 1), encode(v, fallback, depth + 1)] for k, v in value.items()],
        }
    if type(value) in (set, frozenset):
        return {TAG: type(value).__name__, "items": [encode(v, fallback, depth + 1) for v in value]}
    np = _module("numpy")
    if np is not None:
        if type(value) is np.ndarray:
            return _encode_array(value, fallback, depth + 1)
        if isinstance(value, np.generic) and not isinstance(value, np.object_):
            return {TAG: "npscalar", "array": _encode_array(np.asarray(value))}
    torch = _module("torch")
    if torch is not None and type(value) in (torch.Tensor, torch.nn.Parameter):
        return _encode_tensor(value)
    pd = _module("pandas")
    if pd is not None:
        if type(value) is pd.DataFrame:
            return {
                TAG: "dataframe",
                "columns": _encode_index(value.columns),
                "index": _encode_index(value.index),
                "data": [_encode_values(value.iloc[:, i], fallback) for i in range(value.shape[1])],
            }
        if type(value) is pd.Series:
            return {
                TAG: "series",
                "name": encode(value.name),
                "index": _encode_index(value.index),
                "values": _encode_values(value, fallback),
            }
        if isinstance(value, pd.Index):
            return _encode_index(value)
    if fallback is not None:
        return fallback(value)
    raise CodecError(
        f"cannot carry a value of type {type(value).__module__}.{type(value).__qualname__}; supported: {SUPPORTED}"
    )


def _encode_tensor(t: Any) -> dict[str, Any]:
    torch = _module("torch")
    t = t.detach()
    device = str(t.device)
    dtype = str(t.dtype).removeprefix("torch.")
    cpu = t.cpu().contiguous()
    if cpu.dtype == torch.bfloat16:
        arr = cpu.view(torch.int16).numpy()
    else:
        arr = cpu.numpy()
    return {TAG: "tensor", "dtype": dtype, "device": device, "array": _encode_array(arr)}


def _decode_tensor(obj: dict[str, Any]) -> Any:
    import torch

    arr = _decode_array(obj["array"])
    dtype = getattr(torch, str(obj["dtype"]), None)
    if not isinstance(dtype, torch.dtype):
        raise CodecError(f"unknown tensor dtype {obj['dtype']!r}")
    t = torch.from_numpy(arr)
    if dtype == torch.bfloat16:
        t = t.view(torch.bfloat16)
    return t


def _encode_values(s: Any, fallback: Any = None) -> dict[str, Any]:
    """A Series' values with its dtype, so that round trips keep extension dtypes."""
    dtype = str(s.dtype)
    if dtype == "category":
        cat = s.cat
        return {
            TAG: "categorical",
            "categories": _encode_index(cat.categories),
            "codes": _encode_array(cat.codes.to_numpy()),
            "ordered": bool(cat.ordered),
        }
    np = _np()
    if isinstance(s.dtype, np.dtype) and not s.dtype.hasobject:
        return {TAG: "values", "dtype": dtype, "array": _encode_array(s.to_numpy())}
    items = [None if _isna(v) else encode(_plain(v), fallback) for v in s.tolist()]
    return {TAG: "values", "dtype": dtype, "items": items}


def _isna(v: Any) -> bool:
    pd = _module("pandas")
    try:
        return bool(pd.isna(v)) if pd is not None else v is None
    except (TypeError, ValueError):
        return False


def _plain(v: Any) -> Any:
    np = _module("numpy")
    if np is not None and isinstance(v, np.generic):
        return v.item()
    pd = _module("pandas")
    if pd is not None and isinstance(v, pd.Timestamp):
        return str(v)
    return v


def _decode_values(obj: dict[str, Any], depth: int = 0) -> Any:
    import pandas as pd

    if depth >= MAX_DEPTH:
        raise _too_deep()
    if obj.get(TAG) == "categorical":
        cats = _decode_index(obj["categories"], depth + 1)
        codes = _decode_array(obj["codes"])
        return pd.Categorical.from_codes(codes, categories=cats, ordered=bool(obj["ordered"]))
    if "array" in obj:
        return _decode_array(obj["array"])
    items = [decode(v, None, depth + 1) for v in obj["items"]]
    return pd.array(items, dtype=obj["dtype"])


def _encode_index(idx: Any) -> dict[str, Any]:
    pd = _module("pandas")
    if type(idx) is pd.RangeIndex:
        return {TAG: "rangeindex", "start": idx.start, "stop": idx.stop, "step": idx.step, "name": encode(idx.name)}
    if isinstance(idx, pd.MultiIndex):
        return {TAG: "multiindex", "tuples": [encode(t) for t in idx.tolist()], "names": encode(list(idx.names))}
    return {TAG: "index", "values": _encode_values(pd.Series(idx)), "name": encode(idx.name)}


def _decode_index(obj: dict[str, Any], depth: int = 0) -> Any:
    import pandas as pd

    if depth >= MAX_DEPTH:
        raise _too_deep()
    kind = obj.get(TAG)
    d = depth + 1
    if kind == "rangeindex":
        return pd.RangeIndex(int(obj["start"]), int(obj["stop"]), int(obj["step"]), name=decode(obj["name"], None, d))
    if kind == "multiindex":
        return pd.MultiIndex.from_tuples(
            [decode(t, None, d) for t in obj["tuples"]], names=decode(obj["names"], None, d)
        )
    if kind == "index":
        return pd.Index(_decode_values(obj["values"], d), name=decode(obj["name"], None, d))
    raise CodecError(f"expected a pandas index, got {kind!r}")


def _decode_tagged(obj: dict[str, Any], ref_hook: Any, depth: int) -> Any:
    kind = obj[TAG]
    if kind == "float":
        return float(obj["repr"])
    if kind == "int":
        return int(obj["repr"])
    if kind == "complex":
        return complex(decode(obj["re"], None, depth), decode(obj["im"], None, depth))
    if kind == "bytes":
        return base64.b64decode(obj["data"], validate=True)
    if kind == "tuple":
        return tuple(decode(v, ref_hook, depth) for v in obj["items"])
    if kind == "dict":
        return {decode(k, ref_hook, depth): decode(v, ref_hook, depth) for k, v in obj["items"]}
    if kind in ("set", "frozenset"):
        items = [decode(v, ref_hook, depth) for v in obj["items"]]
        return set(items) if kind == "set" else frozenset(items)
    if kind == "ndarray":
        return _decode_array(obj)
    if kind == "objarray":
        np = _np()
        items = [decode(v, ref_hook, depth) for v in obj["items"]]
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out.reshape(tuple(obj["shape"]))
    if kind == "npscalar":
        return _decode_array(obj["array"])[()]
    if kind == "tensor":
        return _decode_tensor(obj)
    if kind == "series":
        import pandas as pd

        return pd.Series(
            _decode_values(obj["values"], depth),
            index=_decode_index(obj["index"], depth),
            name=decode(obj["name"], None, depth),
        )
    if kind == "dataframe":
        import pandas as pd

        columns = _decode_index(obj["columns"], depth)
        index = _decode_index(obj["index"], depth)
        data = {i: _decode_values(col, depth) for i, col in enumerate(obj["data"])}
        df = pd.DataFrame(data, index=index)
        df.columns = columns
        return df
    if kind in ("index", "rangeindex", "multiindex"):
        return _decode_index(obj, depth)
    if kind == "ref":
        if ref_hook is None:
            raise CodecError("a remote reference cannot be decoded here")
        return ref_hook(obj)
    raise CodecError(f"unknown tag {kind!r} in encoded value")


def _too_deep() -> CodecError:
    return CodecError(f"the value is nested more than {MAX_DEPTH} levels deep")


def decode(data: Any, ref_hook: Any = None, depth: int = 0) -> Any:
    """Rebuild a value from :func:`encode`'s output. Unknown shapes, or nesting past MAX_DEPTH, raise CodecError."""
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if depth >= MAX_DEPTH:
        raise _too_deep()
    if isinstance(data, list):
        return [decode(v, ref_hook, depth + 1) for v in data]
    if isinstance(data, dict) and isinstance(data.get(TAG), str):
        return _decode_tagged(data, ref_hook, depth + 1)
    raise CodecError(f"malformed encoded value of type {type(data).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(encode(value), allow_nan=False, separators=(",", ":"))


def loads(text: str, ref_hook: Any = None) -> Any:
    return decode(json.loads(text), ref_hook)
