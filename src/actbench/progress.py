"""Progress bars that also work where tqdm is not installed.

`python -m actbench gpu-check` must run on a bare GPU machine with only torch, triton,
pandas and pyarrow, so long loops use ``progress(...)``: tqdm when available, else a
plain line every tenth of the way (readable in a log file too).
"""

from __future__ import annotations

import sys
import time

try:
    from tqdm import tqdm as _tqdm
except ImportError:  # bare machines (gpu-check)
    _tqdm = None


class _LineProgress:
    """The part of tqdm's interface we use: update, set_postfix_str, close, context manager."""

    def __init__(self, total: int, desc: str, unit: str):
        self.total, self.desc, self.unit = max(int(total), 1), desc, unit
        self.n, self._next_report, self._start, self._postfix = 0, 0.1, time.monotonic(), ""

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.n / self.total >= self._next_report or self.n == self.total:
            elapsed = time.monotonic() - self._start
            print(f"{self.desc}: {self.n}/{self.total} {self.unit} ({elapsed:.0f} s) {self._postfix}",
                  file=sys.stderr, flush=True)
            while self._next_report <= self.n / self.total:
                self._next_report += 0.1

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self._postfix = text

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(total: int, desc: str, unit: str = "it"):
    """A progress bar over ``total`` steps (tqdm if installed)."""
    if _tqdm is not None:
        return _tqdm(total=total, desc=desc, unit=unit, mininterval=1.0)
    return _LineProgress(total, desc, unit)
