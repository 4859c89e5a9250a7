"""Study `architectures`: small proxies for the tutorial's advice by architecture (§4.1).

One job per seed and proxy:

* ``cnn``: ``models.cnn`` (conv, BatchNorm, activation, max-pool per block) on an MNIST
  subset with each of ``--cnn-activations`` (ReLU, LeakyReLU, SiLU, Mish, GELU); test
  accuracy per epoch.
* ``lm``: a tiny byte-level transformer (``actbench.tiny_lm``) trained on a fixed set of
  Python standard-library source files (``actbench.text_corpus``), with a ReLU, GELU or
  SiLU feed-forward network or a SwiGLU one of equal parameter count; validation loss
  (nats per byte; bits per byte and perplexity follow) every ``--lm-eval-every`` steps.
* ``rnn``: row-by-row MNIST with a 28-step Elman RNN, tanh vs ReLU hidden state.
* ``gan``: a toy GAN on a ring of Gaussians (``actbench.toy_gan``), ReLU vs
  LeakyReLU(0.2) in both networks; ``--gan-repeats`` GANs per seed (they are cheap and
  noisy); energy distance to real samples and modes covered.

Seeds fix initial weights and batch order; within a seed all activations start from the
same random state, so comparisons can be paired by seed.
"""

from __future__ import annotations

import argparse

import pandas as pd
import torch
import torch.nn as nn
from tqdm import tqdm

from actbench import ablation, models, text_corpus, tiny_lm, toy_gan, train
from actbench.cliutil import activation_list, positive_int

NAME = "architectures"
KEY = ["part", "seed", "activation", "repeat", "epoch", "step"]
CNN_ACTIVATIONS = ["relu", "leaky_relu", "silu", "mish", "gelu"]
LM_KINDS = ["relu", "gelu", "silu", "swiglu"]


class SequenceRNN(nn.Module):
    """Row-by-row MNIST classifier: an Elman RNN (tanh or ReLU) reads the 28 rows of an
    image, a linear head reads its last hidden state. Accepts flat 784-value rows."""

    def __init__(self, nonlinearity: str, hidden: int = 64):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nn.RNN supports nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
        self.rnn = nn.RNN(28, hidden, nonlinearity=nonlinearity, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x):
        out, _ = self.rnn(x.reshape(-1, 28, 28))
        return self.head(out[:, -1])


def part_cnn(args, seed) -> pd.DataFrame:
    data = ablation.mnist(args.cnn_train_subset, args.test_subset)
    frames = []
    for act in tqdm(args.cnn_activations, desc=f"architectures cnn seed {seed}", unit="run"):
        model = models.cnn(act, channels=args.cnn_channels, batchnorm=args.cnn_norm == "batchnorm", seed=seed)
        result = train.fit(model, data, epochs=args.cnn_epochs, lr=args.lr, batch_size=args.batch_size, seed=seed)
        frames.append(ablation.epoch_rows(result, proxy="cnn", activation=act, seed=seed, norm=args.cnn_norm,
                                          channels=str(list(args.cnn_channels)), params=models.count_parameters(model),
                                          train_subset=len(data.x_train), test_subset=len(data.x_test)))
    return pd.concat(frames, ignore_index=True)


def part_lm(args, seed) -> pd.DataFrame:
    corpus = text_corpus.load_corpus(val_fraction=args.lm_val_fraction)
    rows = []
    for kind in tqdm(args.lm_activations, desc=f"architectures lm seed {seed}", unit="run"):
        torch.manual_seed(seed)
        model = tiny_lm.TinyLM(kind, d_model=args.lm_d_model, heads=args.lm_heads, layers=args.lm_layers,
                               hidden=args.lm_hidden, context=args.lm_context)
        records = tiny_lm.train_lm(model, corpus, steps=args.lm_steps, batch=args.lm_batch, lr=args.lm_lr,
                                   seed=seed, eval_every=args.lm_eval_every, eval_windows=args.lm_eval_windows)
        ffn = sum(p.numel() for b in model.blocks for p in b.ffn.parameters())
        for r in records:
            rows.append({**r, "proxy": "lm", "activation": kind, "seed": seed,
                         "params": models.count_parameters(model), "ffn_params": ffn,
                         "ffn_hidden": tiny_lm.ffn_hidden(kind, args.lm_d_model, args.lm_hidden),
                         "d_model": args.lm_d_model, "layers": args.lm_layers, "context": args.lm_context,
                         "batch": args.lm_batch, "steps": args.lm_steps, "lr": args.lm_lr,
                         "corpus_sha256": corpus.sha256, "corpus_files": corpus.manifest(),
                         "train_bytes": len(corpus.train), "val_bytes": len(corpus.val),
                         "wall_time_comparable": False})
    return pd.DataFrame(rows)


def part_rnn(args, seed) -> pd.DataFrame:
    data = ablation.mnist(args.rnn_train_subset, args.test_subset)
    frames = []
    for act in tqdm(("tanh", "relu"), desc=f"architectures rnn seed {seed}", unit="run"):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = SequenceRNN(act, args.rnn_hidden)
        result = train.fit(model, data, epochs=args.rnn_epochs, lr=args.rnn_lr, batch_size=args.batch_size, seed=seed)
        frames.append(ablation.epoch_rows(result, proxy="rnn", activation=act, seed=seed, hidden=args.rnn_hidden,
                                          lr=args.rnn_lr,
                                          train_subset=len(data.x_train), test_subset=len(data.x_test)))
    return pd.concat(frames, ignore_index=True)


def part_gan(args, seed) -> pd.DataFrame:
    rows = []
    runs = [(a, r) for r in range(args.gan_repeats) for a in ("relu", "leaky_relu")]
    for act, rep in tqdm(runs, desc=f"architectures gan seed {seed}", unit="gan"):
        run_seed = seed * 1000 + rep
        out = toy_gan.train_gan(act, run_seed, steps=args.gan_steps, hidden=args.gan_hidden)
        rows.append({**out, "proxy": "gan", "activation": act, "seed": seed, "repeat": rep, "run_seed": run_seed,
                     "steps": args.gan_steps, "hidden": args.gan_hidden, "negative_slope": 0.2})
    return pd.DataFrame(rows)


PARTS = {
    "cnn": ablation.Part(part_cnn),
    "lm": ablation.Part(part_lm),
    "rnn": ablation.Part(part_rnn),
    "gan": ablation.Part(part_gan),
}


def _lm_kind(text: str) -> str:
    if text in tiny_lm.GATED:
        return text
    return activation_list(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    ablation.add_job_arguments(p, PARTS, seeds=5)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the CNN")
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--test-subset", type=int, default=5000, help="MNIST test rows (0 = all)")
    p.add_argument("--cnn-activations", nargs="+", type=activation_list, default=CNN_ACTIVATIONS)
    p.add_argument("--cnn-channels", nargs="+", type=positive_int, default=[16, 32, 64])
    p.add_argument("--cnn-norm", choices=["batchnorm", "none"], default="batchnorm",
                   help="normalisation between each convolution and its activation (default batchnorm)")
    p.add_argument("--cnn-epochs", type=positive_int, default=3)
    p.add_argument("--cnn-train-subset", type=int, default=5000)
    p.add_argument("--lm-activations", nargs="+", type=_lm_kind, default=LM_KINDS,
                   help="feed-forward kinds: registry names or swiglu")
    p.add_argument("--lm-d-model", type=positive_int, default=64)
    p.add_argument("--lm-heads", type=positive_int, default=4)
    p.add_argument("--lm-layers", type=positive_int, default=2)
    p.add_argument("--lm-hidden", type=positive_int, default=256, help="FFN width of the ungated kinds")
    p.add_argument("--lm-context", type=positive_int, default=64)
    p.add_argument("--lm-batch", type=positive_int, default=32)
    p.add_argument("--lm-steps", type=positive_int, default=400)
    p.add_argument("--lm-lr", type=float, default=3e-3)
    p.add_argument("--lm-eval-every", type=positive_int, default=100)
    p.add_argument("--lm-eval-windows", type=positive_int, default=512)
    p.add_argument("--lm-val-fraction", type=float, default=0.1)
    p.add_argument("--rnn-hidden", type=positive_int, default=64)
    p.add_argument("--rnn-lr", type=float, default=3e-3, help="Adam learning rate of the RNN")
    p.add_argument("--rnn-epochs", type=positive_int, default=8)
    p.add_argument("--rnn-train-subset", type=int, default=10000)
    p.add_argument("--gan-steps", type=positive_int, default=1500)
    p.add_argument("--gan-hidden", type=positive_int, default=128)
    p.add_argument("--gan-repeats", type=positive_int, default=3, help="GANs per seed job")


def run(args):
    return ablation.run(args, NAME, KEY, PARTS)
