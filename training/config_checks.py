"""Type and range checks shared by the classifier configs (DT-FENet's live in model.py).

A config read from a checkpoint, a JSON file or the command line may hold anything: each
field must have its type (an int is not a bool or a float) and lie in a range far above any
useful model, so that a wrong value is one ValueError naming the field, not a hang building
a million layers or a traceback deep in torch.
"""

from __future__ import annotations

from typing import Any


def check_int(name: str, value: Any, least: int, most: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not least <= value <= most:
        raise ValueError(f"{name} must be in [{least}, {most}], got {value}")


def check_float(name: str, value: Any, least: float, below: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not least <= value < below:
        raise ValueError(f"{name} must be a number in [{least}, {below}), got {value!r}")


def check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")


def check_classes(value: Any) -> tuple[str, ...]:
    """A tuple of at least two distinct short labels."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(c, str) and 0 < len(c) <= 16 for c in value):
        raise ValueError(f"classes must be a list of short labels, got {value!r}")
    if not 2 <= len(value) <= 64 or len(set(value)) != len(value):
        raise ValueError(f"classes must be 2 to 64 distinct labels, got {list(value)}")
    return tuple(value)


def check_int_list(name: str, value: Any, least: int, most: int, max_len: int = 16) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= max_len:
        raise ValueError(f"{name} must be a list of 1 to {max_len} integers, got {value!r}")
    for v in value:
        check_int(name, v, least, most)
    return tuple(value)
