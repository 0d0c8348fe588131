"""A small GAN in PyTorch, on a ring of Gaussians in the plane.

The data are 2-D points from a mixture of ``n_modes`` Gaussians whose centres sit evenly on a
circle. A generator ``G`` maps noise ``z ~ N(0, I)`` to points; a discriminator ``D`` maps a
point to one logit, high for "real". They are trained in turns (Goodfellow et al., 2014), with
the **non-saturating** generator loss that the paper recommends in practice.

Conventions (pinned: the grader rebuilds both networks from their ``state_dict`` and repeats
every step in plain torch):

- ``Generator(latent_dim, hidden)``: ``self.net = nn.Sequential(Linear(latent_dim, hidden),
  ReLU(), Linear(hidden, hidden), ReLU(), Linear(hidden, 2))``.
- ``Discriminator(hidden)``: ``self.net = nn.Sequential(Linear(2, hidden), LeakyReLU(0.2),
  Linear(hidden, hidden), LeakyReLU(0.2), Linear(hidden, 1))``; its output has shape ``(N, 1)``.
- Losses are means over the batch, in nats, computed from logits (``F.softplus`` or
  ``F.binary_cross_entropy_with_logits``, never ``log(sigmoid(...))``, which overflows).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def ring_of_gaussians(
    n: int, n_modes: int = 8, radius: float = 2.0, std: float = 0.05, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` points from the ring: float32 tensor of shape ``(n, 2)`` on the CPU.

    Mode ``k`` is centred at ``radius * (cos(2 pi k / n_modes), sin(2 pi k / n_modes))``.
    Draw, in this order, ``k = torch.randint(0, n_modes, (n,), generator=generator)`` and
    ``eps = torch.randn(n, 2, generator=generator)``; point ``i`` is ``centre[k[i]] + std * eps[i]``.
    """
    raise NotImplementedError


class Generator(nn.Module):
    """``(N, latent_dim) -> (N, 2)``, the layout of the module docstring."""

    def __init__(self, latent_dim: int = 8, hidden: int = 64) -> None:
        raise NotImplementedError

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Points for the noise ``z``."""
        raise NotImplementedError


class Discriminator(nn.Module):
    """``(N, 2) -> (N, 1)`` logits, the layout of the module docstring."""

    def __init__(self, hidden: int = 64) -> None:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``D(x)``, high for points that look real."""
        raise NotImplementedError


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss: binary cross-entropy with label 1 for real and 0 for fake.

    ``mean(-log sigmoid(real_logits)) + mean(-log(1 - sigmoid(fake_logits)))``, i.e.
    ``F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()`` (the **sum** of the
    two means, so ``D`` that outputs 0 everywhere has loss ``2 ln 2``). A 0-d tensor.
    """
    raise NotImplementedError


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The **non-saturating** generator loss ``mean(-log sigmoid(fake_logits))``, a 0-d tensor.

    Equal to ``F.softplus(-fake_logits).mean()``. Not the minimax form
    ``mean(log(1 - sigmoid(fake_logits)))``, whose gradient vanishes while ``D`` easily spots
    the fakes, which is exactly when ``G`` needs it most.
    """
    raise NotImplementedError


def discriminator_step(
    G: Generator, D: Discriminator, opt_d: torch.optim.Optimizer, real: torch.Tensor, z: torch.Tensor
) -> float:
    """One update of ``D``; ``G`` is not touched.

    ``fake = G(z).detach()`` (detached: no gradient may reach ``G``, whose parameters keep
    ``.grad`` as they were), ``loss = discriminator_loss(D(real), D(fake))``,
    ``opt_d.zero_grad()``, ``loss.backward()``, ``opt_d.step()``. Returns ``loss.item()``.
    """
    raise NotImplementedError


def generator_step(G: Generator, D: Discriminator, opt_g: torch.optim.Optimizer, z: torch.Tensor) -> float:
    """One update of ``G``; ``D``'s weights are not changed (only ``opt_g`` steps).

    ``loss = generator_loss(D(G(z)))``, ``opt_g.zero_grad()``, ``loss.backward()``,
    ``opt_g.step()``. Returns ``loss.item()``.
    """
    raise NotImplementedError


def train_step(
    G: Generator,
    D: Discriminator,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: torch.Tensor,
    z: torch.Tensor,
) -> tuple[float, float]:
    """One round: **first** ``discriminator_step(G, D, opt_d, real, z)``, **then**
    ``generator_step(G, D, opt_g, z)`` with the same ``z`` and the just-updated ``D``.

    Returns ``(d_loss, g_loss)``.
    """
    raise NotImplementedError


def train_gan(
    steps: int = 800,
    batch_size: int = 64,
    latent_dim: int = 8,
    hidden: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    device: str = "cpu",
) -> tuple[Generator, Discriminator, list[tuple[float, float]]]:
    """Train a GAN on :func:`ring_of_gaussians` (8 modes, radius 2, std 0.05).

    ``torch.manual_seed(seed)``, then ``G = Generator(latent_dim, hidden)`` and
    ``D = Discriminator(hidden)`` (in that order) on ``device``, and two
    ``torch.optim.Adam(..., lr=lr, betas=(0.5, 0.999))``. Data come from
    ``g = torch.Generator().manual_seed(seed)``: each step draws ``real = ring_of_gaussians(
    batch_size, generator=g)`` and then ``z = torch.randn(batch_size, latent_dim, generator=g)``
    (both moved to ``device``) and calls :func:`train_step`.

    Returns ``(G, D, history)``, where ``history[i] = (d_loss, g_loss)`` of step ``i``; ``G``
    and ``D`` are left in ``eval()`` mode.
    """
    raise NotImplementedError
