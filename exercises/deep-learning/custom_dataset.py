"""Your own torch ``Dataset`` over a CSV file, and reproducible ``DataLoader``s.

The course calls this exercise "datasets", but the file is ``custom_dataset.py`` on purpose: a
file named ``datasets.py`` next to your notebooks would shadow Hugging Face's ``datasets``
package (which Colab preinstalls) for every ``import datasets`` in that folder.

The data for trying it out: ``../../datasets/iris/iris.csv`` (relative to this file's folder),
Fisher's iris measurements with four numeric columns and a ``species`` column.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, random_split


class CSVDataset(Dataset):
    """A classification data set read from a CSV file, served one sample at a time.

    Parameters
    ----------
    path : str or os.PathLike
        A comma-separated file with a header row (read it with ``pandas.read_csv(path)``).
    target : str
        The column that holds the class of each row (strings or integers).
    feature_columns : sequence of str or None, default=None
        The columns to use as features, in this order. ``None`` means every column except
        ``target``, in the file's order. All of them must be numeric.
    transform : callable or None, default=None
        Applied to the feature tensor of a sample each time ``__getitem__`` is called,
        ``x = transform(x)`` (never to the label, and never once for the whole table).

    Raises
    ------
    KeyError
        If ``target`` or a name in ``feature_columns`` is not a column of the file.

    Attributes
    ----------
    classes : list
        The distinct values of the target column, sorted ascending (``sorted(set(...))``:
        alphabetical for strings, numerical for integers), as plain Python ``str``/``int``.
    feature_columns : list of str
        The feature columns actually used, in order.

    Notes
    -----
    The label of a row is the index of its class in ``classes``: with classes
    ``["setosa", "versicolor", "virginica"]`` a ``"versicolor"`` row has label 1, and with
    integer classes ``[2, 7, 10]`` a row of class 10 has label 2. Read the file once, in
    ``__init__``, and keep the features as one float32 tensor and the labels as one int64
    tensor; ``__getitem__`` only indexes them.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        target: str,
        feature_columns: Sequence[str] | None = None,
        transform: Callable[[torch.Tensor], Any] | None = None,
    ) -> None:
        raise NotImplementedError

    def __len__(self) -> int:
        """The number of rows in the file."""
        raise NotImplementedError

    def __getitem__(self, i: int) -> tuple[Any, torch.Tensor]:
        """Sample ``i`` as ``(x, y)``.

        ``i`` is an ``int``; negative values count from the end as for a list, and
        ``i >= len(self)`` (or ``i < -len(self)``) raises ``IndexError``.

        Returns
        -------
        x : torch.Tensor
            The row's features as a float32 tensor of shape ``(n_features,)``, passed through
            ``transform`` when one was given.
        y : torch.Tensor
            The label as an int64 (``torch.long``) tensor of shape ``()``: what
            ``torch.nn.functional.cross_entropy`` expects as a class index.
        """
        raise NotImplementedError


def make_dataloaders(
    dataset: Dataset, batch_size: int, val_fraction: float, seed: int
) -> tuple[DataLoader, DataLoader]:
    """Split ``dataset`` at random into training and validation sets, and wrap each in a DataLoader.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Any map-style data set with ``len(dataset)`` samples.
    batch_size : int
        Samples per batch (``>= 1``) for both loaders.
    val_fraction : float
        ``0 < val_fraction < 1``: the validation set has ``int(val_fraction * len(dataset))``
        samples (rounded down), the training set all the others.
    seed : int
        Decides everything random here. The same ``seed`` gives the same split and the same
        sequence of training batches, whatever else the program has drawn before.

    Returns
    -------
    train_loader, val_loader : torch.utils.data.DataLoader
        - The two sets are disjoint and together hold every sample of ``dataset`` once.
        - ``train_loader`` reshuffles every epoch (``shuffle=True``), drawing from its own
          ``torch.Generator().manual_seed(seed)``.
        - ``val_loader`` does not shuffle: every epoch gives the same batches in the same order.
        - Both yield every sample: the last batch may be smaller than ``batch_size``
          (``drop_last=False``); both use ``num_workers=0``.

    Raises
    ------
    ValueError
        If ``batch_size < 1`` or ``val_fraction`` is not strictly between 0 and 1.

    Notes
    -----
    Draw the split with ``random_split(dataset, [n_train, n_val], generator=g)``, where ``g`` is
    a fresh ``torch.Generator().manual_seed(seed)`` (training set first, then validation), and
    give ``train_loader`` a second, separate ``torch.Generator().manual_seed(seed)``: the grader
    replays both. Never seed or draw from torch's global generator here: after
    ``torch.manual_seed(0)``, a call to ``make_dataloaders`` must leave the next ``torch.rand(1)``
    unchanged.
    """
    raise NotImplementedError
