"""Establish a deep-learning environment: pick a device, seed every generator, describe the setup.

Three small functions that every training script of this course starts with. They use only
``torch``, ``numpy`` and the standard library, and they work the same on a laptop (CPU),
on Colab (CUDA) and on an Apple-silicon Mac (MPS).
"""

from __future__ import annotations

import os
import platform
import random
from typing import Any

import numpy as np
import torch

_DEVICES = ("cuda", "mps", "cpu")


def get_device(prefer: str = "cuda") -> torch.device:
    """The ``torch.device`` to train on.

    Parameters
    ----------
    prefer : {"cuda", "mps", "cpu"}, default="cuda"
        The device you would like. Any other value (including ``"gpu"`` or
        ``"cuda:0"``) raises ``ValueError``.

    Returns
    -------
    device : torch.device
        - ``prefer="cpu"``: always ``torch.device("cpu")``, even on a machine with a GPU.
        - ``prefer="cuda"``: ``torch.device("cuda")`` if ``torch.cuda.is_available()``,
          else ``torch.device("mps")`` if ``torch.backends.mps.is_available()``,
          else ``torch.device("cpu")``.
        - ``prefer="mps"``: ``torch.device("mps")`` if ``torch.backends.mps.is_available()``,
          else ``torch.device("cuda")`` if ``torch.cuda.is_available()``,
          else ``torch.device("cpu")``.

        Decide with exactly those two functions, ``torch.cuda.is_available()`` and
        ``torch.backends.mps.is_available()``, called each time ``get_device`` runs (not
        once at import), and without an index (``"cuda"``, not ``"cuda:0"``).
    """
    raise NotImplementedError


def seed_everything(seed: int) -> None:
    """Make every source of randomness repeatable, then make torch deterministic.

    After ``seed_everything(s)``, a script that draws from Python's ``random``, from NumPy's
    global generator (``np.random.rand``, ``np.random.permutation``, ...) and from torch
    (``torch.randn``, weight initialisation, dropout, ...) gives the same numbers every time
    it is run with the same ``s``.

    Parameters
    ----------
    seed : int
        ``0 <= seed < 2**32`` (NumPy's limit). A ``bool``, a non-integer or a value out of
        that range raises ``ValueError`` before anything is seeded.

    Notes
    -----
    Do all of the following, in any order:

    - ``random.seed(seed)`` (Python's generator);
    - ``np.random.seed(seed)`` (NumPy's global generator);
    - ``torch.manual_seed(seed)`` (the CPU generator and every CUDA device's generator)
      and ``torch.cuda.manual_seed_all(seed)`` (harmless without CUDA);
    - ``torch.backends.cudnn.deterministic = True`` and ``torch.backends.cudnn.benchmark = False``;
    - ``torch.use_deterministic_algorithms(True)``: torch then uses deterministic kernels,
      and raises an error for an operation that has none;
    - ``os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"``, which deterministic matrix
      products on CUDA require.

    Returns ``None``.
    """
    raise NotImplementedError


def describe_environment() -> dict[str, Any]:
    """What a bug report about a training run should start with.

    Returns
    -------
    info : dict
        At least these keys (more are welcome):

        - ``"python"``: ``platform.python_version()``, e.g. ``"3.11.9"``;
        - ``"numpy"``: ``np.__version__``;
        - ``"torch"``: ``torch.__version__``, e.g. ``"2.3.1+cpu"``;
        - ``"device"``: ``str(get_device())``, e.g. ``"cpu"`` or ``"cuda"``;
        - ``"cuda_available"``: ``torch.cuda.is_available()``, a ``bool``;
        - ``"num_threads"``: ``torch.get_num_threads()``, an ``int``.

        All values are plain Python ``str``, ``bool`` and ``int`` (no ``torch.device``).
    """
    raise NotImplementedError
