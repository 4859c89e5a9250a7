"""Example factories for ``python -m actbench diagnose``: one healthy model and one model
per defect the diagnostics must catch (the tests and docs/diagnostics.md use them).

Each factory returns ``(model, x, y, loss)``.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from actbench.models import deep_mlp, mlp


def _sample(n: int = 512, features: int = 20, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, features, generator=gen), gen


def healthy():
    """ReLU MLP with He init, linear logits, CrossEntropyLoss: every check passes."""
    x, gen = _sample()
    y = torch.randint(0, 5, (len(x),), generator=gen)
    return mlp([20, 64, 64, 5], "relu", init="he", seed=0), x, y, nn.CrossEntropyLoss()


def healthy_regression():
    """GELU MLP, He init, linear output for targets of both signs, MSELoss."""
    x, gen = _sample()
    y = torch.randn(len(x), 1, generator=gen)
    return mlp([20, 64, 64, 1], "gelu", init="he", seed=0), x, y, nn.MSELoss()


def dead_relu():
    """ReLU MLP whose first hidden layer has large negative biases: most units never fire."""
    model, x, y, loss = healthy()
    with torch.no_grad():
        model[0].bias.fill_(-20.0)
    return model, x, y, loss


def vanishing_sigmoid():
    """20-layer sigmoid net (Xavier, the registry's match): gradients vanish toward the input."""
    x, gen = _sample(256, 10)
    y = torch.randn(len(x), 1, generator=gen)
    return deep_mlp("sigmoid", 20, 64, in_features=10, init="xavier", seed=0), x, y, nn.MSELoss()


def relu_with_xavier():
    """20-layer ReLU net with Xavier init (the registry recommends He): init mismatch."""
    x, gen = _sample(256, 64)
    y = torch.randn(len(x), 1, generator=gen)
    return deep_mlp("relu", 20, 64, in_features=64, init="xavier", seed=0), x, y, nn.MSELoss()


def binary_softmax_bce():
    """Two-way softmax output trained with BCE (Mistake 3, first case)."""
    x, gen = _sample()
    y = torch.randint(0, 2, (len(x), 2), generator=gen).float()
    model = mlp([20, 64, 2], "relu", init="he", seed=0)
    model.append(nn.Softmax(dim=1))
    return model, x, y, nn.BCELoss()


def relu_output_regression():
    """Regression head ending in ReLU while half the targets are negative (Mistake 3, second case)."""
    x, gen = _sample()
    y = torch.randn(len(x), 1, generator=gen)
    return mlp([20, 64, 1], "relu", init="he", output_activation="relu", seed=0), x, y, nn.MSELoss()


def sigmoid_multiclass():
    """Ten sigmoid outputs fed to CrossEntropyLoss (Mistake 3, third case)."""
    x, gen = _sample()
    y = torch.randint(0, 10, (len(x),), generator=gen)
    return mlp([20, 64, 10], "relu", init="he", output_activation="sigmoid", seed=0), x, y, nn.CrossEntropyLoss()


def all_zero_layer():
    """A ReLU layer whose weights and biases are all negative-producing: it outputs only zeros."""
    model, x, y, loss = healthy()
    with torch.no_grad():
        model[2].weight.zero_()
        model[2].bias.fill_(-1.0)
    return model, x, y, loss


# ── activations written as functions, and ones diagnose cannot see ──────────────────
class FunctionalMLP(nn.Module):
    """An MLP whose forward applies its activation as a function (F.relu, torch.tanh ...),
    the way much user code is written, instead of holding activation modules."""

    def __init__(self, layers: list[nn.Linear], activation):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.activation = activation

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)


def functional(model: nn.Sequential, activation) -> FunctionalMLP:
    """The same network, same weights, with its activation modules replaced by a function."""
    return FunctionalMLP([m for m in model if isinstance(m, nn.Linear)], activation)


def functional_relu_xavier():
    """30-layer Xavier net written with F.relu (the registry recommends He): init mismatch."""
    x, gen = _sample(256, 64)
    y = torch.randn(len(x), 1, generator=gen)
    model = deep_mlp("relu", 30, 64, in_features=64, init="xavier", seed=0)
    return functional(model, F.relu), x, y, nn.MSELoss()


class ClampReLU(nn.Module):
    """max(0, x) written with clamp: an activation the registry lacks, built from a primitive."""

    def forward(self, x):
        return x.clamp(min=0)


class ClampReLUFunction(torch.autograd.Function):
    """max(0, x) as a custom autograd.Function: its forward is opaque to hooks."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x > 0)


def unrecognised_activation():
    """The healthy model's shape with a hidden activation diagnose does not recognise."""
    model, x, y, loss = healthy()
    return nn.Sequential(model[0], ClampReLU(), model[2], nn.ReLU(), model[4]), x, y, loss


def custom_function_activation():
    """The healthy model's MLP applying a custom autograd.Function as its activation."""
    model, x, y, loss = healthy()
    return functional(model, ClampReLUFunction.apply), x, y, loss


def wrong_input_shape():
    """The healthy model (20 inputs) given MNIST-sized rows of 784 values."""
    model, x, y, loss = healthy()
    return model, torch.randn(len(x), 784, generator=torch.Generator().manual_seed(0)), y, loss
