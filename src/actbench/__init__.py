"""actbench: measure what an activation-functions tutorial claims."""

__version__ = "0.1.0"
