"""A tiny byte-level transformer language model whose feed-forward activation is swappable.

Pre-LayerNorm decoder blocks (causal self-attention, then a feed-forward network), learned
positional embeddings, an untied output head. The feed-forward network is

* ``relu`` / ``gelu`` / ``silu`` (any registry name): Linear(d, h) -> act -> Linear(h, d);
* ``swiglu``: W2 (silu(W1 x) * W3 x) with hidden size h' chosen so that its 3 d h'
  weights match the 2 d h of the others as closely as an integer allows.

No biases in the feed-forward layers, so "equal parameter count" is exact up to that
rounding (``ffn_hidden`` says how far off it is).
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from actbench import activations
from actbench.text_corpus import VOCAB_SIZE, Corpus, fixed_windows, random_windows

GATED = ("swiglu",)


def ffn_hidden(kind: str, d_model: int, hidden: int) -> int:
    """Hidden width for a feed-forward kind so its weight count matches 2 * d * hidden."""
    if kind in GATED:
        target = 2 * d_model * hidden
        return min((math.floor(target / (3 * d_model)), math.ceil(target / (3 * d_model))),
                   key=lambda h: abs(3 * d_model * h - target))
    return hidden


class FeedForward(nn.Module):
    def __init__(self, kind: str, d_model: int, hidden: int):
        super().__init__()
        self.kind = kind
        h = ffn_hidden(kind, d_model, hidden)
        if kind in GATED:
            self.w1 = nn.Linear(d_model, h, bias=False)
            self.w3 = nn.Linear(d_model, h, bias=False)
            self.w2 = nn.Linear(h, d_model, bias=False)
        else:
            self.w1 = nn.Linear(d_model, h, bias=False)
            self.act = activations.get(kind).module()
            self.w2 = nn.Linear(h, d_model, bias=False)

    def forward(self, x):
        if self.kind in GATED:
            return self.w2(F.silu(self.w1(x)) * self.w3(x))
        return self.w2(self.act(self.w1(x)))


class Block(nn.Module):
    def __init__(self, kind: str, d_model: int, heads: int, hidden: int):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not divisible by heads {heads}")
        self.heads = heads
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.ffn = FeedForward(kind, d_model, hidden)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.ffn(self.ln2(x))


class TinyLM(nn.Module):
    def __init__(self, kind: str, d_model: int = 64, heads: int = 4, layers: int = 2, hidden: int = 256,
                 context: int = 64):
        super().__init__()
        if kind not in GATED:
            activations.get(kind)  # raises with the list of valid names
        self.context = context
        self.tok = nn.Embedding(VOCAB_SIZE, d_model)
        self.pos = nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList(Block(kind, d_model, heads, hidden) for _ in range(layers))
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, VOCAB_SIZE)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


def lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(steps - warmup, 1)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def evaluate(model: TinyLM, x: torch.Tensor, y: torch.Tensor, batch: int = 64) -> tuple[float, float]:
    """(mean cross-entropy in nats per byte, next-byte accuracy) over fixed windows."""
    model.eval()
    total, correct, n = 0.0, 0, 0
    for i in range(0, len(x), batch):
        logits = model(x[i:i + batch])
        total += F.cross_entropy(logits.reshape(-1, VOCAB_SIZE), y[i:i + batch].reshape(-1), reduction="sum").item()
        correct += (logits.argmax(-1) == y[i:i + batch]).sum().item()
        n += y[i:i + batch].numel()
    model.train()
    return total / n, correct / n


def train_lm(model: TinyLM, corpus: Corpus, steps: int, batch: int, lr: float, seed: int, warmup: int = 50,
             eval_every: int = 100, eval_windows: int = 512, clip: float = 1.0) -> list[dict]:
    """Adam with warm-up + cosine decay and gradient clipping; one record per evaluation.

    A non-finite loss stops training; the record says diverged=True (never an exception).
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    vx, vy = fixed_windows(corpus.val, model.context, eval_windows)
    records, running, seen = [], 0.0, 0
    t0 = time.perf_counter()
    val_loss, val_acc = evaluate(model, vx, vy)
    records.append({"step": 0, "train_loss": math.nan, "val_loss": val_loss, "val_accuracy": val_acc,
                    "wall_s": 0.0, "diverged": False})
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr_at(step - 1, steps, lr, warmup)
        x, y = random_windows(corpus.train, model.context, batch, gen)
        loss = F.cross_entropy(model(x).reshape(-1, VOCAB_SIZE), y.reshape(-1))
        if not torch.isfinite(loss):
            records.append({"step": step, "train_loss": math.nan, "val_loss": math.nan, "val_accuracy": math.nan,
                            "wall_s": time.perf_counter() - t0, "diverged": True})
            return records
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        running += loss.item()
        seen += 1
        if step % eval_every == 0 or step == steps:
            val_loss, val_acc = evaluate(model, vx, vy)
            records.append({"step": step, "train_loss": running / seen, "val_loss": val_loss,
                            "val_accuracy": val_acc, "wall_s": time.perf_counter() - t0,
                            "diverged": not math.isfinite(val_loss)})
            running, seen = 0.0, 0
    return records
