"""The fields of a firmware build's ``export.json`` that validate reads, checked before use.

A hand-edited or truncated manifest must give one line naming the field, not a KeyError
from deep inside the comparison.
"""

from __future__ import annotations

import math
from pathlib import Path

from afkd.errors import AfkdError

_INT, _NUMBER, _TEXT, _LIST, _MAP = "an integer", "a number", "a string", "a list", "an object"
# (path of keys, what it must be); firmware.* only when the export built a firmware
REQUIRED = (
    (("fs",), _INT), (("hop",), _INT), (("latency_samples",), _INT), (("input", "shape"), _LIST),
    (("quantization", "input", "dtype"), _TEXT), (("quantization", "input", "scale"), _NUMBER),
    (("quantization", "input", "zero_point"), _INT), (("quantization", "outputs"), _MAP),
    (("firmware", "board"), _TEXT), (("firmware", "tflite"), _TEXT), (("firmware", "prefix"), _TEXT),
    (("firmware", "mode"), _TEXT), (("firmware", "macs_per_hop"), _INT),
)
OUTPUT_FIELDS = (("scale", _NUMBER), ("zero_point", _INT), ("subgraph_output_position", _INT))


def _is(value, kind: str) -> bool:
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, {_TEXT: str, _LIST: list, _MAP: dict}[kind])


def _get(manifest: dict, keys: tuple[str, ...]):
    value = manifest
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return KeyError
        value = value[key]
    return value


def check_build_manifest(manifest: object, path: Path) -> None:
    """AfkdError naming the first missing or mistyped field validate needs."""
    if not isinstance(manifest, dict):
        raise AfkdError(f"{path}: not a JSON object")
    for keys, kind in REQUIRED:
        value = _get(manifest, keys)
        name = ".".join(keys)
        if value is KeyError:
            raise AfkdError(f"{path}: no {name} (re-export the build)")
        if not _is(value, kind):
            raise AfkdError(f"{path}: {name} is {value!r}, not {kind}")
    for key in ("fs", "hop"):
        if manifest[key] <= 0:
            raise AfkdError(f"{path}: {key} is {manifest[key]}, not positive")
    optional = (("firmware.firmware", manifest["firmware"].get("firmware"), _TEXT),
                ("lookahead_samples", manifest.get("lookahead_samples"), _INT),
                ("firmware.scratch_bytes", manifest["firmware"].get("scratch_bytes"), _INT))
    for name, value, kind in optional:
        if value is not None and not _is(value, kind):
            raise AfkdError(f"{path}: {name} is {value!r}, not {kind}")
    shape = manifest["input"]["shape"]
    if len(shape) < 3 or not _is(shape[2], _INT) or shape[2] <= 0:
        raise AfkdError(f"{path}: input.shape {shape!r} gives no fixed length")
    if manifest["quantization"]["input"]["dtype"] not in ("int8", "int16"):
        raise AfkdError(f"{path}: quantization.input.dtype {manifest['quantization']['input']['dtype']!r} "
                        "is not int8 or int16")
    outputs = manifest["quantization"]["outputs"]
    for name in ("aa", "va"):
        if not isinstance(outputs.get(name), dict):
            raise AfkdError(f"{path}: quantization.outputs has no {name}")
        for field, kind in OUTPUT_FIELDS:
            if not _is(outputs[name].get(field), kind):
                raise AfkdError(f"{path}: quantization.outputs.{name}.{field} is "
                                f"{outputs[name].get(field)!r}, not {kind}")
