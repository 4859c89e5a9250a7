"""Study `sparsity`: exactly-zero and near-zero activations after training, and pruning.

What fraction of activations is exactly zero (or nearly zero) for each activation, and
how much does pruning always-zero ReLU units save?

One job per seed trains the Experiment 1 MLP (784-256-128-10, Adam) for every
activation on an MNIST subset and measures, per hidden layer, on the held-out rows:

* exact-zero fraction (output == 0) and near-zero fraction (|output| < ``--near-zero``),
  at initialisation (epoch 0) and after training;
* for the ReLU family: units whose output is zero on *every* training row are removed
  (their incoming row and outgoing column), the parameter saving is recorded, and the
  pruned network's test accuracy is compared with the original (they can differ only
  where such a unit fires on a test row).
"""

from __future__ import annotations

import pandas as pd
import torch
import torch.nn as nn
from tqdm import tqdm

from actbench import ablation, diagnostics, models, train
from actbench.cliutil import activation_list
from actbench.studies.unit import Param

NAME = "sparsity"
KEY = ["part", "seed", "quantity", "activation", "stage", "layer"]
ACTIVATIONS = ["relu", "relu6", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "mish", "hardswish",
               "tanh", "sigmoid"]
PRUNABLE = ("relu", "relu6")  # exact zero for every negative input: a never-positive unit outputs 0


@torch.no_grad()
def layer_sparsity(model: nn.Module, x: torch.Tensor, near_zero: float) -> pd.DataFrame:
    model.eval()
    with diagnostics.DeadUnitMonitor(model, near_zero=near_zero, derivative=False) as mon:
        for i in range(0, len(x), 4096):
            model(x[i:i + 4096])
    model.train()
    return mon.frame()


@torch.no_grad()
def prune_never_positive(model: nn.Sequential, x: torch.Tensor) -> tuple[nn.Sequential, int]:
    """A copy of an MLP (Linear/activation pairs, final Linear) without the hidden units
    that never output a positive value on ``x``; returns (pruned model, units removed)."""
    layers = [m for m in model]
    keep_masks, h = [], x
    for m in layers:
        h = m(h)
        if not isinstance(m, nn.Linear):
            keep_masks.append((h > 0).any(dim=0))
    new_layers, mask_iter, prev_keep, removed = [], iter(keep_masks), None, 0
    for m in layers:
        if isinstance(m, nn.Linear):
            w, b = m.weight, m.bias
            if prev_keep is not None:
                w = w[:, prev_keep]
            out_keep = next(mask_iter, None) if m is not layers[-1] else None
            if out_keep is not None:
                w, b = w[out_keep], b[out_keep]
                removed += int((~out_keep).sum())
                prev_keep = out_keep
            lin = nn.Linear(w.shape[1], w.shape[0])
            lin.weight.copy_(w)
            lin.bias.copy_(b)
            new_layers.append(lin)
        else:
            new_layers.append(type(m)())
    return nn.Sequential(*new_layers), removed


def part_train(args, seed) -> pd.DataFrame:
    data = ablation.mnist(args.train_subset, args.test_subset)
    rows = []
    for act in tqdm(args.activations, desc=f"sparsity seed {seed}", unit="run"):
        model = models.mlp([784, 256, 128, 10], act, seed=seed)
        stages = {"init": layer_sparsity(model, data.x_test, args.near_zero)}
        result = train.fit(model, data, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=seed)
        final = ablation.final_row(result)
        if not result.diverged:
            stages["trained"] = layer_sparsity(model, data.x_test, args.near_zero)
        for stage, df in stages.items():
            for r in df.to_dict("records"):
                rows.append({"quantity": "layer_sparsity", "activation": act, "stage": stage, "seed": seed,
                             "layer": r["layer_index"], "units": r["units"],
                             "exact_zero_fraction": r["exact_zero_fraction"],
                             "near_zero_fraction": r["near_zero_fraction"],
                             "test_accuracy": final["test_accuracy"], "diverged": final["diverged"]})
        if act in PRUNABLE and not result.diverged:
            pruned, removed = prune_never_positive(model, data.x_train)
            _, acc = train.evaluate(pruned, data.x_test, data.y_test)
            total, kept = models.count_parameters(model), models.count_parameters(pruned)
            rows.append({"quantity": "pruning", "activation": act, "stage": "trained", "seed": seed, "layer": -1,
                         "units_removed": removed, "params_before": total, "params_after": kept,
                         "param_reduction_pct": 100.0 * (total - kept) / total,
                         "test_accuracy": final["test_accuracy"], "pruned_test_accuracy": acc,
                         "diverged": False})
    df = pd.DataFrame(rows)
    df["near_zero_threshold"], df["epochs"], df["train_subset"] = args.near_zero, args.epochs, len(data.x_train)
    df["test_subset"] = len(data.x_test)
    return df


PARTS = {"train": ablation.Part(part_train)}


STUDY = ablation.study(
    NAME, "How many activations are exactly or nearly zero after training, for each activation, and how much "
    "pruning always-zero ReLU units saves.", KEY, PARTS,
    seeds=3, quick_seeds=2, page="ablations.md#6-sparsity-and-pruning-silent-units",
    params=(
        Param("activations", ACTIVATIONS, "activations of the Experiment 1 MLP",
              quick=["relu", "relu6", "leaky_relu", "gelu", "silu"], unique=True, parse=activation_list),
        Param("near_zero", diagnostics.NEAR_ZERO, "|activation| below this counts as near zero", exclusive_minimum=0),
        Param("epochs", 5, "training epochs", quick=1, minimum=1),
        Param("lr", 1e-3, "Adam learning rate", exclusive_minimum=0),
        Param("batch_size", 128, "minibatch size", minimum=1),
        Param("train_subset", 10000, "MNIST training rows (0 = all)", quick=500, minimum=0),
        Param("test_subset", 5000, "MNIST test rows (0 = all); the sparsity is measured on these", quick=200,
              minimum=0),
    ),
)
