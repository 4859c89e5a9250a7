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
from actbench.cliutil import activation_list
from actbench.studies.unit import Param

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
    """A feed-forward kind: an elementwise registry name, or a gated kind (swiglu)."""
    if text in tiny_lm.GATED:
        return text
    try:
        return activation_list(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (or a gated kind: {', '.join(tiny_lm.GATED)})") from None


def run(args):
    """Check what one flag's declaration cannot (heads against model width) before any job starts."""
    if args.lm_d_model % args.lm_heads:
        raise ValueError(f"--lm-heads {args.lm_heads} is not allowed with --lm-d-model {args.lm_d_model}: "
                         "the number of heads must divide the model width")
    return ablation.run(args, NAME, KEY, PARTS)


STUDY = ablation.study(
    NAME, "Small proxies for the tutorial's advice by architecture (§4.1): a CNN, a tiny transformer language "
    "model, an RNN and a toy GAN, each with the activations the advice compares.", KEY, PARTS,
    seeds=5, quick_seeds=2, page="ablations.md#9-which-activation-for-which-architecture", custom_run=run,
    params=(
        Param("lr", 1e-3, "Adam learning rate of the CNN", exclusive_minimum=0),
        Param("batch_size", 128, "minibatch size of the CNN and the RNN", minimum=1),
        Param("test_subset", 5000, "MNIST test rows of the CNN and the RNN (0 = all)", quick=200, minimum=0),
        Param("cnn_activations", CNN_ACTIVATIONS, "activations of the CNN", quick=["relu", "gelu", "silu", "mish"],
              unique=True, parse=activation_list),
        Param("cnn_channels", [16, 32, 64], "CNN channels per block", quick=[4, 8, 8], minimum=1,
              selects=False),  # a list that changes every CNN row, not a choice of rows
        Param("cnn_norm", "batchnorm", "normalisation between each convolution and its activation (batchnorm: "
              "conv -> BatchNorm -> activation)", choices=("batchnorm", "none")),
        Param("cnn_epochs", 3, "epochs of the CNN", quick=1, minimum=1),
        Param("cnn_train_subset", 5000, "MNIST training rows of the CNN (0 = all)", quick=300, minimum=0),
        Param("lm_activations", LM_KINDS, "feed-forward kinds of the language model: registry names or swiglu",
              unique=True, parse=_lm_kind),
        Param("lm_d_model", 64, "model width of the language model (a multiple of --lm-heads)", quick=16, minimum=1),
        Param("lm_heads", 4, "attention heads of the language model (must divide --lm-d-model)", quick=2, minimum=1),
        Param("lm_layers", 2, "transformer blocks of the language model", quick=1, minimum=1),
        Param("lm_hidden", 256, "FFN width of the ungated kinds (SwiGLU gets the width of equal parameter count)",
              quick=32, minimum=1),
        Param("lm_context", 64, "context length of the language model, in bytes", quick=16, minimum=2),
        Param("lm_batch", 32, "windows per training step of the language model", quick=8, minimum=1),
        Param("lm_steps", 400, "training steps of the language model", quick=10, minimum=1),
        Param("lm_lr", 3e-3, "peak Adam learning rate of the language model (warm-up, then cosine decay)",
              exclusive_minimum=0),
        Param("lm_eval_every", 100, "steps between validation losses", quick=5, minimum=1),
        Param("lm_eval_windows", 512, "validation windows per evaluation", quick=32, minimum=1),
        Param("lm_val_fraction", 0.1, "share of each corpus file held out for validation (its end)",
              exclusive_minimum=0, exclusive_maximum=1),
        Param("rnn_hidden", 64, "hidden units of the Elman RNN", quick=16, minimum=1),
        Param("rnn_lr", 3e-3, "Adam learning rate of the RNN", exclusive_minimum=0),
        Param("rnn_epochs", 8, "epochs of the RNN", quick=1, minimum=1),
        Param("rnn_train_subset", 10000, "MNIST training rows of the RNN (0 = all)", quick=300, minimum=0),
        Param("gan_steps", 1500, "training steps of each toy GAN", quick=30, minimum=1),
        Param("gan_hidden", 128, "hidden width of the GAN's generator and discriminator", quick=16, minimum=1),
        Param("gan_repeats", 3, "GANs per seed job (they are cheap and noisy)", quick=1, minimum=1),
    ),
)
