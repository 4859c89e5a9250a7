"""Independent high-precision references (mpmath, 50 digits) for the registry tests.

Written from the textbook definitions, without importing actbench, so that a mistake
in the registry cannot be copied into its own reference.
"""

import mpmath as mp

mp.mp.dps = 50

SELU_ALPHA = mp.mpf("1.6732632423543772848170429916717")
SELU_LAMBDA = mp.mpf("1.0507009873554804934193349852946")


def _phi(x):
    return mp.ncdf(x)


REFERENCE = {
    "sigmoid": lambda x: 1 / (1 + mp.e ** (-x)),
    "tanh": lambda x: mp.tanh(x),
    "relu": lambda x: max(x, mp.mpf(0)),
    "relu6": lambda x: min(max(x, mp.mpf(0)), mp.mpf(6)),
    "leaky_relu": lambda x: x if x > 0 else mp.mpf("0.01") * x,
    "prelu": lambda x: x if x > 0 else mp.mpf("0.25") * x,
    "elu": lambda x: x if x > 0 else mp.expm1(x),
    "selu": lambda x: SELU_LAMBDA * (x if x > 0 else SELU_ALPHA * mp.expm1(x)),
    "gelu": lambda x: x * _phi(x),
    "gelu_tanh": lambda x: x / 2 * (1 + mp.tanh(mp.sqrt(2 / mp.pi) * (x + mp.mpf("0.044715") * x**3))),
    "silu": lambda x: x / (1 + mp.e ** (-x)),
    "swish_beta": lambda x: x / (1 + mp.e ** (-x)),
    "hardswish": lambda x: x * min(max(x + 3, mp.mpf(0)), mp.mpf(6)) / 6,
    "mish": lambda x: x * mp.tanh(mp.log1p(mp.e**x)),
    "softplus": lambda x: mp.log1p(mp.e**x),
    "squared_relu": lambda x: max(x, mp.mpf(0)) ** 2,
    "elu_learnable": lambda x: x if x > 0 else mp.expm1(x),
}


def f(name, x):
    return REFERENCE[name](mp.mpf(x))


def df(name, x):
    """Derivative by high-precision numerical differentiation (away from kinks)."""
    return mp.diff(REFERENCE[name], mp.mpf(x))


def argmin(name, guess):
    """Minimiser of a smooth activation: root of f' near the guess."""
    x = mp.findroot(lambda t: mp.diff(REFERENCE[name], t), mp.mpf(guess))
    return x, REFERENCE[name](x)
