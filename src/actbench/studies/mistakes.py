"""Study `mistakes`: the tutorial's "common mistakes" (§6), each reproduced and measured.

Parts:

* ``softmax`` (unseeded): Mistake 6, naive vs max-subtracted vs ``F.softmax`` on
  [1000, 1001, 1002] in float32, and the §3.4 temperature examples (float64).
* ``mistake1`` (per seed): the tutorial's 100-256-128-64-10 network with sigmoid vs
  ReLU hidden units. Its 100 inputs are MNIST images averaged down to 10x10 pixels.
  Train loss per epoch with three optimisers: plain SGD at lr 1e-3 (``sgd_plain``: the
  tutorial's own update rule, "Δw = learning_rate × grad ≈ 0.001 × ..."), SGD with
  momentum 0.9 at lr 0.01 (``sgd``) and Adam at lr 1e-3 (``adam``); plus the input-layer
  gradient at initialisation.
* ``mistake2`` (unseeded, ``--mistake2-seeds`` replicates): 100-256-128 ReLU with Xavier
  uniform vs He normal weights (default or zero biases), on 10x10 MNIST or N(0, 1) input;
  at initialisation and after the first Adam step: dead units on one batch of 128 (the
  tutorial's test: never positive on that batch), and over the whole training subset
  both never-positive and gradient-dead units (|f'| below the threshold on every row).
* ``mistake3`` (per seed): a ReLU output on a regression target with negative values vs
  a linear output; two-way softmax + BCE vs one logit + sigmoid + BCE on the circles
  set; sigmoid outputs fed to cross-entropy vs logits on 10x10 MNIST.
* ``mistake5`` (per seed): a 4-block CNN with GELU everywhere, ReLU in the first two
  blocks and GELU in the last two, or ReLU everywhere; test accuracy.
* ``timing`` (exclusive): one training step (forward, backward, Adam) of those three
  CNNs, interleaved rounds, at the trained width and at the tutorial's widths.
"""

from __future__ import annotations

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from actbench import ablation, diagnostics, models, train
from actbench.studies.unit import Param

NAME = "mistakes"
KEY = ["part", "seed", "mistake", "quantity", "variant", "activation", "optimizer", "input", "bias", "stage",
       "width", "index", "temperature", "epoch", "round"]
LOGITS_BIG = [1000.0, 1001.0, 1002.0]
LOGITS_SMALL = [2.0, 1.0, 0.1]
TEMPERATURES = [1.0, 10.0, 0.5]
MISTAKE5_VARIANTS = {"all_gelu": ["gelu"] * 4, "hybrid": ["relu", "relu", "gelu", "gelu"], "all_relu": ["relu"] * 4}
TUTORIAL_CHANNELS = [64, 128, 256, 512]


# ───────────────────────────── Mistake 6 and §3.4 ─────────────────────────────
def softmax_naive(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(x) / torch.exp(x).sum()


def softmax_stable(x: torch.Tensor) -> torch.Tensor:
    e = torch.exp(x - x.max())
    return e / e.sum()


def part_softmax(args, seed) -> pd.DataFrame:
    rows = []
    big = torch.tensor(LOGITS_BIG, dtype=torch.float32)
    for variant, fn in (("naive", softmax_naive), ("stable", softmax_stable),
                        ("torch", lambda t: F.softmax(t, dim=-1))):
        p = fn(big)
        for i, v in enumerate(p.tolist()):
            rows.append({"mistake": "mistake6", "quantity": "prob", "variant": variant, "index": i, "value": v,
                         "logits": str(LOGITS_BIG), "dtype": "float32"})
        rows.append({"mistake": "mistake6", "quantity": "nan_count", "variant": variant,
                     "value": float(torch.isnan(p).sum()), "logits": str(LOGITS_BIG), "dtype": "float32"})
    small = torch.tensor(LOGITS_SMALL, dtype=torch.float64)
    for t in TEMPERATURES:
        for i, v in enumerate(F.softmax(small / t, dim=-1).tolist()):
            rows.append({"mistake": "softmax_temperature", "quantity": "prob", "variant": f"T={t:g}",
                         "temperature": t, "index": i, "value": v, "logits": str(LOGITS_SMALL), "dtype": "float64"})
    return pd.DataFrame(rows)


# ───────────────────────────── Mistake 1 ─────────────────────────────
MISTAKE1_OPTIMIZERS = ("sgd_plain", "sgd", "adam")


def plain_sgd(params, lr):
    """w <- w - lr * grad: the update rule the tutorial writes out for Mistake 1."""
    return torch.optim.SGD(params, lr=lr)


def mistake1_optimizer(name: str, args):
    """(optimizer for train.fit, learning rate) of one of MISTAKE1_OPTIMIZERS."""
    if name == "sgd_plain":
        return plain_sgd, args.plain_sgd_lr
    if name == "sgd":
        return "sgd", args.sgd_lr  # train.fit's SGD: momentum 0.9
    if name == "adam":
        return "adam", args.adam_lr
    raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(MISTAKE1_OPTIMIZERS)}")


def part_mistake1(args, seed) -> pd.DataFrame:
    data = ablation.mnist_downsampled(10, args.mistake1_train_subset, args.test_subset)
    frames = []
    runs = [(a, o) for a in ("sigmoid", "relu") for o in MISTAKE1_OPTIMIZERS]
    for act, opt in tqdm(runs, desc=f"mistake1 seed {seed}", unit="run"):
        model = models.mlp([100, 256, 128, 64, 10], act, seed=seed)
        grads = diagnostics.gradient_magnitudes(model, data.x_train[:512], data.y_train[:512], nn.CrossEntropyLoss())
        optimizer, lr = mistake1_optimizer(opt, args)
        result = train.fit(model, data, epochs=args.mistake1_epochs, lr=lr, batch_size=args.batch_size, seed=seed,
                           optimizer=optimizer)
        frames.append(ablation.epoch_rows(
            result, mistake="mistake1", quantity="train", activation=act, optimizer=opt, lr=lr, seed=seed,
            input_grad_at_init=float(grads["mean_abs_grad"].iloc[0]),
            output_grad_at_init=float(grads["mean_abs_grad"].iloc[-1]),
            train_subset=len(data.x_train)))
    return pd.concat(frames, ignore_index=True)


# ───────────────────────────── Mistake 2 ─────────────────────────────
def mistake2_model(init: str, bias: str, seed: int) -> nn.Sequential:
    """The tutorial's 100-256-128 ReLU stack (+ a 10-way head so it can take a step)."""
    model = models.mlp([100, 256, 128, 10], "relu", seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        for layer in model:
            if isinstance(layer, nn.Linear):
                if init == "xavier":
                    nn.init.xavier_uniform_(layer.weight)
                else:
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                if bias == "zero":
                    nn.init.zeros_(layer.bias)
    return model


def part_mistake2(args, seed) -> pd.DataFrame:
    data = ablation.mnist_downsampled(10, args.mistake1_train_subset, args.test_subset)
    rows = []
    runs = [(i, b, inp, s) for i in ("xavier", "he") for b in ("default", "zero") for inp in ("mnist10x10", "gaussian")
            for s in range(args.mistake2_seeds)]
    for init, bias, inp, s in tqdm(runs, desc="mistake2", unit="net", mininterval=2):
        model = mistake2_model(init, bias, s)
        gen = torch.Generator().manual_seed(s)
        if inp == "mnist10x10":
            idx = torch.randperm(len(data.x_train), generator=gen)[:128]
            xb, yb, x_all = data.x_train[idx], data.y_train[idx], data.x_train
        else:
            xb = torch.randn(128, 100, generator=gen)
            yb = torch.randint(0, 10, (128,), generator=gen)
            x_all = torch.randn(len(data.x_train), 100, generator=gen)
        common = {"mistake": "mistake2", "variant": f"relu_{init}", "init": init, "bias": bias, "input": inp,
                  "seed": s}
        def measure(stage):
            rows.append({**common, "quantity": "dead_unit_pct", "stage": stage,
                         "value": diagnostics.tutorial_dead_pct(model, xb)})
            mon = diagnostics.measure_dead_units(model, x_all, threshold=args.dead_threshold)
            for quantity, kind in (("never_positive_pct_full_set", "never_positive"),
                                   ("gradient_dead_pct_full_set", "gradient")):
                rows.append({**common, "quantity": quantity, "stage": stage, "value": 100 * mon.dead_fraction(kind)})
        measure("init")
        opt = torch.optim.Adam(model.parameters(), lr=args.adam_lr)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        measure("after_batch:1")
    return pd.DataFrame(rows)


# ───────────────────────────── Mistake 3 ─────────────────────────────
class SoftmaxBCE(nn.Module):
    """Two logits -> softmax -> BCE on the class-1 probability (the tutorial's mistake)."""

    def forward(self, out, y):
        return F.binary_cross_entropy(F.softmax(out, dim=1)[:, 1].clamp(1e-7, 1 - 1e-7), y.float())


class SigmoidBCE(nn.Module):
    """One logit -> sigmoid -> BCE (the tutorial's fix)."""

    def forward(self, out, y):
        return F.binary_cross_entropy(torch.sigmoid(out[:, 0]).clamp(1e-7, 1 - 1e-7), y.float())


def _binary_accuracy(model, x, y, two_logits: bool) -> float:
    with torch.no_grad():
        out = model(x)
        p1 = F.softmax(out, dim=1)[:, 1] if two_logits else torch.sigmoid(out[:, 0])
    return float(((p1 > 0.5).long() == y).float().mean())


def part_mistake3(args, seed) -> pd.DataFrame:
    rows = []
    # (a) regression with negative targets: y = sin(2x) on [-3, 3]
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(2000, 1, generator=gen) * 6 - 3
    xt = torch.rand(2000, 1, generator=gen) * 6 - 3
    y, yt = torch.sin(2 * x), torch.sin(2 * xt)
    for variant, out_act in (("linear_output", None), ("relu_output", "relu")):
        model = models.mlp([1, 64, 64, 1], "relu", output_activation=out_act, seed=seed)
        result = train.fit(model, (x, y, xt, yt), epochs=args.mistake3_epochs, lr=3e-3, batch_size=64,
                           seed=seed, loss="mse")
        with torch.no_grad():
            pred = model(xt)
        neg = yt[:, 0] < 0
        rows.append({"mistake": "mistake3", "quantity": "regression", "variant": variant, "seed": seed,
                     "final_mse": result.final["test_loss"],
                     "mse_on_negative_targets": float(((pred - yt)[neg] ** 2).mean()),
                     "mse_of_predicting_zero_on_negative_targets": float((yt[neg] ** 2).mean()),
                     "diverged": bool(result.diverged)})
    # (b) binary classification on circles: 2-way softmax + BCE vs 1 logit + sigmoid + BCE
    data = train.synthetic_split("circles", n=1000, noise=0.1, seed=seed)
    for variant, width, loss in (("softmax2_bce", 2, SoftmaxBCE()), ("sigmoid_bce", 1, SigmoidBCE())):
        model = models.mlp([2, 32, 32, width], "relu", seed=seed)
        result = train.fit(model, data, epochs=args.mistake3_epochs, lr=1e-2, batch_size=64, seed=seed, loss=loss)
        rows.append({"mistake": "mistake3", "quantity": "binary", "variant": variant, "seed": seed,
                     "final_val_loss": result.final["test_loss"],
                     "val_accuracy": _binary_accuracy(model, data.x_test, data.y_test, width == 2),
                     "diverged": bool(result.diverged)})
    # (c) multi-class: sigmoid scores into CrossEntropyLoss vs logits
    mn = ablation.mnist_downsampled(10, args.mistake1_train_subset, args.test_subset)
    for variant, out_act in (("logits_ce", None), ("sigmoid_ce", "sigmoid")):
        model = models.mlp([100, 128, 10], "relu", output_activation=out_act, seed=seed)
        result = train.fit(model, mn, epochs=args.mistake3_mnist_epochs, lr=args.adam_lr,
                           batch_size=args.batch_size, seed=seed)
        rows.append({"mistake": "mistake3", "quantity": "multiclass", "variant": variant, "seed": seed,
                     "final_val_loss": result.final["test_loss"], "val_accuracy": result.final["test_accuracy"],
                     "diverged": bool(result.diverged)})
    df = pd.DataFrame(rows)
    df["epochs"] = [args.mistake3_mnist_epochs if q == "multiclass" else args.mistake3_epochs for q in df["quantity"]]
    return df


# ───────────────────────────── Mistake 5 ─────────────────────────────
def mistake5_model(variant: str, channels, seed: int) -> nn.Sequential:
    if variant not in MISTAKE5_VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; allowed: {', '.join(MISTAKE5_VARIANTS)}")
    return models.cnn(MISTAKE5_VARIANTS[variant], channels=channels, seed=seed)


def part_mistake5(args, seed) -> pd.DataFrame:
    data = ablation.mnist(args.cnn_train_subset, args.test_subset)
    frames = []
    for variant in tqdm(MISTAKE5_VARIANTS, desc=f"mistake5 seed {seed}", unit="run"):
        model = mistake5_model(variant, args.channels, seed)
        result = train.fit(model, data, epochs=args.cnn_epochs, lr=args.adam_lr, batch_size=args.batch_size,
                           seed=seed)
        frames.append(ablation.epoch_rows(result, mistake="mistake5", quantity="train", variant=variant, seed=seed,
                                          channels=str(list(args.channels)), train_subset=len(data.x_train)))
    return pd.concat(frames, ignore_index=True)


def part_timing(args, seed) -> pd.DataFrame:
    from torch.utils.benchmark import Timer

    torch.set_num_threads(args.timing_threads)
    rows = []
    configs = {"trained_width": list(args.channels), "tutorial_width": TUTORIAL_CHANNELS}
    steps = {}
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(args.timing_batch, 784, generator=gen) * 2 - 1
    y = torch.randint(0, 10, (args.timing_batch,), generator=gen)
    for cfg, channels in configs.items():
        for variant in MISTAKE5_VARIANTS:
            model = mistake5_model(variant, channels, 0)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)

            def step(model=model, opt=opt):
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(x), y).backward()
                opt.step()
            step()  # warm-up (allocations, Adam state)
            steps[(cfg, variant)] = step
    for r in tqdm(range(args.timing_rounds), desc="mistake5 timing", unit="round"):
        keys = list(steps) if r % 2 == 0 else list(reversed(steps))
        for cfg, variant in keys:
            m = Timer("fn()", globals={"fn": steps[(cfg, variant)]}, num_threads=args.timing_threads
                      ).blocked_autorange(min_run_time=args.timing_min_s)
            rows.append({"mistake": "mistake5", "quantity": "step_time_s", "variant": variant, "width": cfg,
                         "channels": str(configs[cfg]), "round": r, "value": m.median,
                         "batch": args.timing_batch, "threads": args.timing_threads,
                         "calls": len(m.times) * m.number_per_run, "wall_time_comparable": True})
    return pd.DataFrame(rows)


PARTS = {
    "softmax": ablation.Part(part_softmax, seeded=False),
    "mistake1": ablation.Part(part_mistake1),
    "mistake2": ablation.Part(part_mistake2, seeded=False),
    "mistake3": ablation.Part(part_mistake3),
    "mistake5": ablation.Part(part_mistake5),
    "timing": ablation.Part(part_timing, seeded=False, timing=True),
}


def run(args):
    """Check what one flag's declaration cannot (four CNN blocks), then run."""
    if len(args.channels) != 4:
        raise ValueError(f"--channels {' '.join(map(str, args.channels))}: {len(args.channels)} blocks are not "
                         "allowed; give exactly 4 channel counts (the tutorial's CNN has four blocks)")
    return ablation.run(args, NAME, KEY, PARTS)


STUDY = ablation.study(
    NAME, "The tutorial's common mistakes (§6), each reproduced and measured.", KEY, PARTS,
    seeds=5, quick_seeds=2, page="ablations.md#8-the-common-mistakes", custom_run=run,
    params=(
        Param("batch_size", 128, "minibatch size", minimum=1),
        Param("adam_lr", 1e-3, "Adam learning rate (Mistake 1's adam runs, Mistakes 2, 3 and 5)", exclusive_minimum=0),
        Param("sgd_lr", 1e-2, "learning rate of SGD with momentum 0.9 for Mistake 1", exclusive_minimum=0),
        Param("plain_sgd_lr", 1e-3, "learning rate of plain SGD for Mistake 1: the tutorial's update rule "
              "Δw = 0.001 × grad", exclusive_minimum=0),
        Param("mistake1_epochs", 10, "epochs of Mistake 1 (at least 10: the tutorial quotes epoch 10)", minimum=10),
        Param("mistake1_train_subset", 0, "MNIST training rows (10x10 pixels) for Mistakes 1-3 (0 = all 60,000)",
              quick=500, minimum=0),
        Param("test_subset", 5000, "MNIST test rows (0 = all)", quick=200, minimum=0),
        Param("mistake2_seeds", 20, "replicates of Mistake 2 (dead units at initialisation and after one step)",
              quick=3, minimum=2),
        Param("dead_threshold", diagnostics.DEFAULT_THRESHOLD,
              "Mistake 2: |f'(z)| below this on every row = gradient-dead", exclusive_minimum=0, exclusive_maximum=1),
        Param("mistake3_epochs", 30, "epochs of Mistake 3 on the synthetic sets", quick=3, minimum=1),
        Param("mistake3_mnist_epochs", 3, "epochs of Mistake 3's multi-class case (10x10 MNIST)", quick=1, minimum=1),
        Param("channels", [8, 16, 32, 64], "the four CNN blocks' channels of Mistake 5, trained (the timing part "
              "also steps the tutorial's 64 128 256 512)", quick=[4, 4, 8, 8], minimum=1, min_items=4,
              schema_extra={"maxItems": 4}, selects=False),  # changes every CNN row, chooses none
        Param("cnn_epochs", 4, "epochs of the Mistake 5 CNNs", quick=1, minimum=1),
        Param("cnn_train_subset", 10000, "MNIST training rows of the Mistake 5 CNNs (0 = all)", quick=300,
              minimum=0),
        Param("timing_batch", 64, "batch of the timed training step (Mistake 5's CNNs)", quick=8, minimum=1),
        Param("timing_rounds", 7, "interleaved timing rounds (at least 2 for an interval)", quick=2, minimum=2),
        Param("timing_min_s", 0.3, "minimum seconds per measurement", quick=0.02, exclusive_minimum=0),
        Param("timing_threads", 1, "torch threads of the timing part", minimum=1),
    ),
)
