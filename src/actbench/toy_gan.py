"""A toy GAN on a ring of Gaussians: cheap enough for many seeds, hard enough to fail.

Data: ``modes`` Gaussians (std ``spread``) evenly spaced on a circle of radius 2 (the
standard "8 Gaussians" toy). Generator and discriminator are MLPs with the activation
under test; non-saturating loss, Adam (betas 0.5, 0.999).

Quality of the generator is measured on fresh samples:

* energy distance to real samples (0 when the distributions agree; lower is better);
* modes covered: modes that receive at least ``min_share`` of the samples within
  ``radius`` of their centre;
* quality fraction: share of samples within ``radius`` of some mode.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from actbench import models


def ring_centres(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    angles = torch.arange(modes, dtype=torch.float32) * (2 * math.pi / modes)
    return torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1)


def sample_real(n: int, gen: torch.Generator, modes: int = 8, spread: float = 0.05) -> torch.Tensor:
    centres = ring_centres(modes)
    which = torch.randint(0, modes, (n,), generator=gen)
    return centres[which] + spread * torch.randn(n, 2, generator=gen)


def energy_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """2 E|A-B| - E|A-A'| - E|B-B'| (Szekely); 0 iff the distributions are equal."""
    ab = torch.cdist(a, b).mean()
    aa = torch.cdist(a, a).mean()
    bb = torch.cdist(b, b).mean()
    return float(2 * ab - aa - bb)


def mode_stats(samples: torch.Tensor, modes: int = 8, radius: float = 0.25, min_share: float = 0.02):
    d = torch.cdist(samples, ring_centres(modes))
    nearest = d.min(dim=1)
    close = nearest.values < radius
    counts = torch.bincount(nearest.indices[close], minlength=modes)
    covered = int((counts >= min_share * len(samples)).sum())
    return covered, float(close.float().mean())


def build(activation: str, hidden: int, latent: int, seed: int, negative_slope: float = 0.2):
    params = {"negative_slope": negative_slope} if activation == "leaky_relu" else {}
    g = models.mlp([latent, hidden, hidden, 2], activation, seed=seed, activation_params=params)
    d = models.mlp([2, hidden, hidden, 1], activation, seed=seed + 1, activation_params=params)
    return g, d


def train_gan(activation: str, seed: int, steps: int = 2000, batch: int = 256, hidden: int = 128,
              latent: int = 8, lr: float = 1e-3, eval_samples: int = 2000, modes: int = 8,
              negative_slope: float = 0.2) -> dict:
    """Train one GAN; returns the quality measures (diverged=True on a non-finite loss)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    g, d = build(activation, hidden, latent, seed, negative_slope)
    opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(0.5, 0.999))
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    for _ in range(steps):
        real = sample_real(batch, gen, modes)
        fake = g(torch.randn(batch, latent, generator=gen))
        loss_d = (F.binary_cross_entropy_with_logits(d(real), ones)
                  + F.binary_cross_entropy_with_logits(d(fake.detach()), zeros))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = F.binary_cross_entropy_with_logits(d(fake), ones)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if not (torch.isfinite(loss_d) and torch.isfinite(loss_g)):
            return {"energy_distance": math.nan, "modes_covered": 0, "quality_fraction": math.nan,
                    "diverged": True}
    eval_gen = torch.Generator().manual_seed(10_000 + seed)
    with torch.no_grad():
        fake = g(torch.randn(eval_samples, latent, generator=eval_gen))
    real = sample_real(eval_samples, eval_gen, modes)
    covered, quality = mode_stats(fake, modes)
    return {"energy_distance": energy_distance(fake, real), "modes_covered": covered,
            "quality_fraction": quality, "diverged": False, "final_loss_d": loss_d.item(), "final_loss_g": loss_g.item()}

