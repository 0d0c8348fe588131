"""Hidden suite for deep-learning/custom_dataset: `CSVDataset` and `make_dataloaders`.

Datasets and DataLoaders cannot cross the codec: they stay in the learner's kernel as remote
references, and small probes (built with ``sub.eval``) return plain tensors and lists. The split
is checked through properties only (sizes, disjoint, complete, reproducible, independent of the
global generator), so any seeded way of splitting passes; to see which samples went where, the
probes split a ``TensorDataset`` whose labels are the sample indices.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from grader.engine.remote import RemoteRef
from grader.helpers import DATASETS, assert_close, assert_equal, expect_raises, fail

IRIS = "../../datasets/iris/iris.csv"  # as the learner's code sees it, from its exercise folder
IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
IRIS_CLASSES = ["setosa", "versicolor", "virginica"]


def _probe(sub: Any, source: str) -> Any:
    """A function defined by ``source`` (it must define ``probe``), built inside the learner's kernel."""
    return sub.eval(f"(lambda ns: (exec({source!r}, ns), ns['probe'])[1])({{}})")


# Every sample of a data set, as a list of (x, y).
_ALL_ITEMS = "lambda ds: [ds[i] for i in range(len(ds))]"

# Writes a small CSV with integer classes and integer features into a private temporary folder,
# builds the learner's data set from it, and returns its samples and attributes.
_INT_CSV_PROBE = """
def probe(CSVDataset, text):
    import os
    import shutil
    import tempfile
    folder = tempfile.mkdtemp()
    try:
        path = os.path.join(folder, "tiny.csv")
        with open(path, "w") as f:
            f.write(text)
        ds = CSVDataset(path, "kind")
        plain = lambda v: v.tolist() if hasattr(v, "tolist") else list(v)
        return plain(ds.classes), plain(ds.feature_columns), [ds[i] for i in range(len(ds))]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
"""

# Splits a data set whose labels are the sample indices, and reads two epochs of each loader.
_SPLIT_PROBE = """
def probe(make_dataloaders, n, batch_size, val_fraction, seed):
    import random
    import numpy as np
    import torch
    random.seed(None)
    np.random.seed(None)
    torch.seed()  # a split that draws from a global generator now differs between calls
    ids = torch.arange(n)
    ds = torch.utils.data.TensorDataset(ids.float()[:, None], ids)
    loaders = make_dataloaders(ds, batch_size, val_fraction, seed)
    train, val = loaders
    kinds = [type(loader).__module__ + "." + type(loader).__qualname__ for loader in (train, val)]
    epochs = {
        name: [[yb for _, yb in loader] for _ in range(2)] for name, loader in (("train", train), ("val", val))
    }
    return kinds, epochs
"""

# Is torch's global generator untouched by make_dataloaders (without iterating the loaders)?
_GLOBAL_RNG_PROBE = """
def probe(make_dataloaders, seed):
    import torch
    ds = torch.utils.data.TensorDataset(torch.zeros(20, 1), torch.arange(20))
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    make_dataloaders(ds, 4, 0.25, seed)
    return bool(torch.equal(torch.rand(3), expected))
"""

# The first batch of each loader over a learner's data set.
_FIRST_BATCHES = "lambda loaders: [next(iter(loader)) for loader in loaders]"

# One training step on `device` with a batch of the learner's loader: the batch must move to the
# device and feed cross_entropy as it is. The zero-initialised model gives the loss ln(3) exactly.
_TRAIN_STEP_PROBE = """
def probe(loader, device):
    import torch
    model = torch.nn.Linear(4, 3).to(device)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    xb, yb = next(iter(loader))
    xb, yb = xb.to(device), yb.to(device)
    loss = torch.nn.functional.cross_entropy(model(xb), yb)
    loss.backward()
    return float(loss), loss.device.type, model.weight.grad.device.type
"""

_LABELS = (
    "The label is the index of the row's class in `classes` (sorted distinct values of the target column), "
    "returned as an int64 tensor of shape (): cross_entropy needs int64 (torch.long) class indices, not floats."
)
_FEATURES = "x is the row's feature columns, in order, as a float32 tensor of shape (n_features,)."


def _iris() -> pd.DataFrame:
    return pd.read_csv(DATASETS / "iris" / "iris.csv")


def _plain_list(value: Any, name: str) -> list[Any]:
    """A list, tuple or 1-D array of names as a plain list (strict types are not the point here)."""
    __tracebackhide__ = True
    if isinstance(value, np.ndarray):
        return value.tolist()
    if not isinstance(value, list | tuple):
        got = value.type_name if isinstance(value, RemoteRef) else type(value).__name__
        fail(f"`{name}` should be a list, but it is a {got}.", hint="Store it as a plain list, e.g. sorted(set(...)).")
    return [v.item() if isinstance(v, np.generic) else v for v in value]


def _check_item(item: Any, i: int, x_exp: np.ndarray, y_exp: int, what: str) -> None:
    __tracebackhide__ = True
    if not isinstance(item, tuple | list) or len(item) != 2:
        got = item.type_name if isinstance(item, RemoteRef) else type(item).__name__
        fail(f"{what}[{i}] should be a pair (x, y), but it is a {got}.", hint="Return x, y from __getitem__.")
    x, y = item
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, torch.Tensor):
            got = value.type_name if isinstance(value, RemoteRef) else type(value).__name__
            fail(
                f"{what}[{i}] returned {name} as a {got}, expected a torch tensor.",
                hint=_FEATURES if name == "x" else _LABELS,
            )
    if x.dtype != torch.float32:
        fail(f"{what}[{i}]: x has dtype {x.dtype}, expected torch.float32.", hint=_FEATURES)
    if y.dtype != torch.int64:
        fail(f"{what}[{i}]: y has dtype {y.dtype}, expected torch.int64.", hint=_LABELS)
    if tuple(y.shape) != ():
        fail(f"{what}[{i}]: y has shape {tuple(y.shape)}, expected () (a single class index).", hint=_LABELS)
    assert_close(x, x_exp.astype(np.float32), rtol=0, atol=0, name=f"{what}[{i}] features x", hint=_FEATURES)
    assert_equal(int(y), y_exp, name=f"{what}[{i}] label y", hint=_LABELS)


@pytest.mark.public
@pytest.mark.points(2)
def test_iris_samples_have_the_right_types_and_values(sub: Any) -> None:
    frame = _iris()
    X = frame[IRIS_FEATURES].to_numpy()
    y = frame["species"].map({c: i for i, c in enumerate(IRIS_CLASSES)}).to_numpy()
    ds = sub.CSVDataset(IRIS, "species")
    if not ds.isinstance_of("torch.utils.data.dataset.Dataset"):
        fail(
            f"`CSVDataset` is a {ds.type_name} that does not inherit from torch.utils.data.Dataset.",
            hint="Write class CSVDataset(Dataset): ...",
        )
    assert_equal(len(ds), len(frame), name="len(CSVDataset(iris.csv))", hint="__len__ returns the number of rows.")
    assert_equal(
        _plain_list(ds.classes, "classes"),
        IRIS_CLASSES,
        name="classes",
        hint="classes is the sorted list of distinct target values, as plain str/int.",
    )
    assert_equal(
        _plain_list(ds.feature_columns, "feature_columns"),
        IRIS_FEATURES,
        name="feature_columns",
        hint="Without feature_columns, use every column except the target, in the file's order.",
    )
    for i in (0, 75, len(frame) - 1):
        _check_item(ds[i], i, X[i], int(y[i]), "dataset")
    _check_item(ds[-1], -1, X[-1], int(y[-1]), "dataset")
    with expect_raises(
        "IndexError",
        name=f"dataset[{len(frame)}]",
        hint="An index past the end must raise IndexError (tensor indexing does): `for x, y in dataset` relies on it.",
    ):
        ds[len(frame)]


@pytest.mark.points(2)
def test_every_row_feature_columns_and_transform(sub: Any) -> None:
    frame = _iris()
    y = frame["species"].map({c: i for i, c in enumerate(IRIS_CLASSES)}).to_numpy()
    items = sub.eval(_ALL_ITEMS)(sub.CSVDataset(IRIS, "species"))
    assert_equal(len(items), len(frame), name="number of samples")
    for i, item in enumerate(items):
        _check_item(item, i, frame[IRIS_FEATURES].to_numpy()[i], int(y[i]), "dataset")

    cols = ["petal_width", "sepal_length"]
    ds = sub.CSVDataset(IRIS, "species", feature_columns=cols)
    assert_equal(
        _plain_list(ds.feature_columns, "feature_columns"),
        cols,
        name="feature_columns (given)",
        hint="Keep the columns you are given.",
    )
    for i in (0, 149):
        _check_item(ds[i], i, frame[cols].to_numpy()[i], int(y[i]), f"CSVDataset(..., feature_columns={cols})")

    ds = sub.CSVDataset(IRIS, "species", transform=sub.eval("lambda x: x * 2 + 1"))
    for i in (3, 120):
        x, label = ds[i]
        assert_close(
            x,
            (frame[IRIS_FEATURES].to_numpy()[i] * 2 + 1).astype(np.float32),
            rtol=1e-6,
            name=f"x of dataset[{i}] with transform=lambda x: x * 2 + 1",
            hint="Apply transform to the feature tensor in __getitem__: x = transform(x).",
        )
        assert_equal(int(label), int(y[i]), name=f"y of dataset[{i}] with a transform", hint="Never transform y.")


@pytest.mark.points(1)
def test_integer_classes_and_missing_columns(sub: Any) -> None:
    text = "a,kind,b\n1,10,5\n2,2,6\n3,7,7\n4,10,8\n5,2,9\n"
    classes, features, items = _probe(sub, _INT_CSV_PROBE)(sub.CSVDataset, text)
    assert_equal(
        list(classes),
        [2, 7, 10],
        name="classes of a file whose target column holds 10, 2, 7, 10, 2",
        hint="Sort the distinct classes as numbers when they are numbers (sorted(set(...))): 2 < 7 < 10.",
    )
    assert_equal(list(features), ["a", "b"], name="feature_columns", hint="Every column except the target, in order.")
    expected_y = [2, 0, 1, 2, 0]
    for i, item in enumerate(items):
        _check_item(item, i, np.array([i + 1, i + 5], dtype=np.float32), expected_y[i], "tiny.csv dataset")
    for kwargs, what in (({}, "target 'label'"), ({"feature_columns": ["a", "zz"]}, "feature column 'zz'")):
        with expect_raises(
            "KeyError",
            name=f"CSVDataset with a missing {what}",
            hint="Raise KeyError when the target or a feature column is not in the file.",
        ):
            sub.CSVDataset(IRIS, "label" if not kwargs else "species", **kwargs)


@pytest.mark.public
@pytest.mark.points(1)
def test_dataloader_batches_from_the_dataset(sub: Any, device: str) -> None:
    ds = sub.CSVDataset(IRIS, "species")
    loaders = sub.make_dataloaders(ds, 16, 0.25, 0)
    if not isinstance(loaders, tuple | list) or len(loaders) != 2:
        fail("`make_dataloaders` should return a pair (train_loader, val_loader).")
    for name, (xb, yb) in zip(("train", "val"), sub.eval(_FIRST_BATCHES)(loaders), strict=True):
        if not isinstance(xb, torch.Tensor) or xb.dtype != torch.float32 or tuple(xb.shape) != (16, 4):
            fail(
                f"The first {name} batch's x should be a float32 tensor of shape (16, 4), got "
                f"{getattr(xb, 'dtype', type(xb).__name__)} of shape {tuple(getattr(xb, 'shape', ()))}.",
                hint=_FEATURES,
            )
        if not isinstance(yb, torch.Tensor) or yb.dtype != torch.int64 or tuple(yb.shape) != (16,):
            fail(
                f"The first {name} batch's y should be an int64 tensor of shape (16,), got "
                f"{getattr(yb, 'dtype', type(yb).__name__)} of shape {tuple(getattr(yb, 'shape', ()))}.",
                hint=_LABELS,
            )
    loss, loss_device, grad_device = _probe(sub, _TRAIN_STEP_PROBE)(loaders[0], device)
    want = torch.device(device).type
    if (loss_device, grad_device) != (want, want) or abs(loss - math.log(3)) > 1e-5:
        fail(
            f"A training step on {device} with a batch of your training loader gave the loss {loss:.6g} on "
            f"{loss_device}, expected ln(3) = {math.log(3):.6g} on {want} (a zero-initialised model).",
            hint=_LABELS,
        )


def _split(sub: Any, n: int, batch_size: int, val_fraction: float, seed: int) -> dict[str, list[list[list[int]]]]:
    """Two epochs of batches (lists of sample indices) from each loader, after checking their types."""
    __tracebackhide__ = True
    kinds, epochs = _probe(sub, _SPLIT_PROBE)(sub.make_dataloaders, n, batch_size, val_fraction, seed)
    for name, kind in zip(("train_loader", "val_loader"), kinds, strict=True):
        if kind != "torch.utils.data.dataloader.DataLoader":
            fail(f"`{name}` is a {kind}, expected a torch.utils.data.DataLoader.")
    return {k: [[b.tolist() for b in epoch] for epoch in v] for k, v in epochs.items()}


@pytest.mark.points(1)
def test_split_is_disjoint_complete_and_keeps_the_last_batch(sub: Any) -> None:
    for n, batch_size, val_fraction in ((150, 16, 0.25), (37, 5, 0.5), (20, 32, 0.1)):
        got = _split(sub, n, batch_size, val_fraction, seed=7)
        train = [i for b in got["train"][0] for i in b]
        val = [i for b in got["val"][0] for i in b]
        what = f"make_dataloaders(dataset of {n}, batch_size={batch_size}, val_fraction={val_fraction})"
        if len(set(val)) != int(val_fraction * n):
            fail(
                f"{what}: the validation loader holds {len(set(val))} distinct samples, expected "
                f"int({val_fraction} * {n}) = {math.floor(val_fraction * n)}.",
                hint="n_val = int(val_fraction * len(dataset)); the training set gets the rest.",
            )
        if len(val) != len(set(val)) or len(train) != len(set(train)):
            fail(f"{what}: a loader yielded the same sample twice in one epoch.", hint="Each sample once per epoch.")
        n_train = n - len(val)
        if len(train) < n_train:
            fail(
                f"{what}: the training loader yielded only {len(train)} of its {n_train} samples in an epoch "
                f"(batch sizes {[len(b) for b in got['train'][0]]}).",
                hint="Keep the last, smaller batch: drop_last=False, so that every sample is used each epoch.",
            )
        if set(train) & set(val):
            fail(
                f"{what}: samples {sorted(set(train) & set(val))[:5]} are in both the training and the validation "
                "loader.",
                hint="Split the indices once into two disjoint sets (random_split does).",
            )
        if set(train) | set(val) != set(range(n)):
            fail(
                f"{what}: samples {sorted(set(range(n)) - set(train) - set(val))[:5]} are in neither loader.",
                hint="Together the two sets hold every sample of the data set.",
            )
        for name in ("train", "val"):
            sizes = [len(b) for b in got[name][0]]
            if any(s != batch_size for s in sizes[:-1]) or (sizes and sizes[-1] > batch_size):
                fail(
                    f"{what}: the {name} loader's batches have sizes {sizes}.",
                    hint=f"Every batch but the last holds batch_size={batch_size} samples; the last holds the rest "
                    "(drop_last=False).",
                )


@pytest.mark.points(1)
def test_split_is_reproducible_and_uses_its_own_generator(sub: Any, seed: int) -> None:
    s = seed % 2**31
    first = _split(sub, 60, 8, 0.25, s)
    second = _split(sub, 60, 8, 0.25, s)
    hint = (
        "Draw the split from a fresh torch.Generator().manual_seed(seed) (random_split(..., generator=...)), and give "
        "the training DataLoader its own torch.Generator().manual_seed(seed): nothing may depend on the global "
        "generator."
    )
    if sorted(i for b in first["val"][0] for i in b) != sorted(i for b in second["val"][0] for i in b):
        fail(f"Two calls with seed={s} put different samples in the validation set.", hint=hint)
    if first["train"] != second["train"]:
        fail(f"Two calls with seed={s} gave different training batches.", hint=hint)
    other = _split(sub, 60, 8, 0.25, s + 1)
    if sorted(i for b in other["val"][0] for i in b) == sorted(i for b in first["val"][0] for i in b):
        fail(f"seed={s} and seed={s + 1} gave the same validation set.", hint="Use the seed you are given.")
    if not _probe(sub, _GLOBAL_RNG_PROBE)(sub.make_dataloaders, s):
        fail(
            "After torch.manual_seed(1234), calling make_dataloaders changed the next torch.rand(3): it seeded or "
            "drew from torch's global generator.",
            hint=hint,
        )
    for bad in (1.0, 0.0):
        with expect_raises(
            "ValueError",
            name=f"make_dataloaders(..., val_fraction={bad}, ...)",
            hint="val_fraction must be strictly between 0 and 1; raise ValueError otherwise.",
        ):
            sub.eval(
                "lambda f, v: f(__import__('torch').utils.data.TensorDataset(__import__('torch').zeros(4)), 2, v, 0)"
            )(sub.make_dataloaders, bad)


@pytest.mark.points(1)
def test_split_and_batches_replay_the_pinned_generators(sub: Any, seed: int) -> None:
    s = seed % 2**31
    n, batch_size, val_fraction = 50, 8, 0.3
    got = _split(sub, n, batch_size, val_fraction, s)
    n_val = int(val_fraction * n)
    train_set, val_set = torch.utils.data.random_split(
        range(n), [n - n_val, n_val], generator=torch.Generator().manual_seed(s)
    )
    premise = sorted(i for b in got["val"][0] for i in b)
    train_ids = [i for b in got["train"][0] for i in b]
    if got["train"][0] == got["train"][1]:
        fail(
            "The training order cannot be replayed: this follows from the shuffling problem reported by "
            "test_train_reshuffles_each_epoch_and_val_does_not."
        )
    if len(premise) != n_val or len(train_ids) != n - n_val or set(premise) & set(train_ids):
        fail(
            "The split cannot be replayed: this follows from the split problem reported by "
            "test_split_is_disjoint_complete_and_keeps_the_last_batch above."
        )
    if premise != sorted(val_set):
        fail(
            f"make_dataloaders(dataset of {n}, val_fraction={val_fraction}, seed={s}) put other samples in the "
            "validation set than random_split(dataset, [n_train, n_val], "
            "generator=torch.Generator().manual_seed(seed)).",
            hint="Split with random_split(dataset, [n_train, n_val], generator=torch.Generator().manual_seed(seed)): "
            "the training set first, then the validation set.",
        )
    loader = torch.utils.data.DataLoader(
        list(train_set), batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(s)
    )
    expected = [[int(i) for i in b] for b in loader]
    if got["train"][0] != expected:
        fail(
            f"The first epoch of the training loader (seed={s}) is not the order that a DataLoader with its own "
            "torch.Generator().manual_seed(seed) gives.",
            hint="Give the training DataLoader a second, separate torch.Generator().manual_seed(seed) (not the "
            "generator that random_split already drew from).",
        )


@pytest.mark.points(1)
def test_train_reshuffles_each_epoch_and_val_does_not(sub: Any) -> None:
    got = _split(sub, 80, 10, 0.25, 3)
    if got["train"][0] == got["train"][1]:
        fail(
            "The training loader gave the same batches in two epochs in a row.",
            hint="Shuffle the training loader (shuffle=True): every epoch should see a new order.",
        )
    if got["val"][0] != got["val"][1]:
        fail(
            "The validation loader gave different batches in two epochs in a row.",
            hint="Do not shuffle the validation loader (shuffle=False): it should be the same every epoch.",
        )
