"""argparse types that refuse what no command can use: NaN, infinities, zero or negative counts.

``type=float`` takes "nan", "inf" and "1e999"; ``type=int`` takes "-3". Each of these
then fails far from the flag, as a traceback or a silent wrong figure. With these types
the parser answers in one line naming the flag (afkd.cli.OneLineParser).
"""

from __future__ import annotations

import argparse
import math


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def nonnegative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def finite_float(text: str) -> float:
    return _number(text, float)


def positive_float(text: str) -> float:
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value:g} must be above 0")
    return value


def nonnegative_float(text: str) -> float:
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value:g} must be 0 or more")
    return value


def epoch_list(text: str) -> tuple[int, ...]:
    """A comma-separated list of epochs, 0 or more each ("0,2,5"), sorted, without repeats."""
    parts = [p.strip() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of epochs")
    return tuple(sorted({nonnegative_int(p) for p in parts}))
