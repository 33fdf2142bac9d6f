"""Small, tested helpers that turn Python values into C source text.

The Jinja templates hold only structure; every number and name they print passes through
here, so that identifiers are checked once and arrays are formatted one way.
"""

from __future__ import annotations

import re

import numpy as np

from afkd.errors import AfkdError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# C keywords and names the runtime reserves; a prefix equal to one would not compile or would clash.
_C_RESERVED = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while _Bool _Complex _Imaginary bool true false NULL main".split()
)

_C_TYPES = {
    "int8_t": (np.int8, -(2**7), 2**7 - 1),
    "uint8_t": (np.uint8, 0, 2**8 - 1),
    "int16_t": (np.int16, -(2**15), 2**15 - 1),
    "int32_t": (np.int32, -(2**31), 2**31 - 1),
    "uint32_t": (np.uint32, 0, 2**32 - 1),  # bit masks (sparse weights' bitmaps): hex
    "int64_t": (np.int64, -(2**63), 2**63 - 1),
}


def c_identifier(name: str, what: str = "identifier") -> str:
    """Return ``name`` if it is a valid, non-reserved C identifier, else raise AfkdError."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise AfkdError(f"{what} {name!r}: not a C identifier (letters, digits, _; not starting with a digit)")
    if name in _C_RESERVED:
        raise AfkdError(f"{what} {name!r}: reserved word in C")
    if name.startswith("__") or re.match(r"^_[A-Z]", name):
        raise AfkdError(f"{what} {name!r}: names starting with __ or _<capital> are reserved for the compiler")
    return name


def c_prefix(prefix: str) -> str:
    """A symbol prefix: a lower-case C identifier that generated names are built from."""
    c_identifier(prefix, "prefix")
    if prefix != prefix.lower():
        raise AfkdError(f"prefix {prefix!r}: use lower case (macros get the upper-case form)")
    if len(prefix) > 24:
        raise AfkdError(f"prefix {prefix!r}: at most 24 characters")
    return prefix


def c_int(value: int, ctype: str = "int32_t") -> str:
    """An integer literal that means ``value`` in ``ctype``, range-checked.

    INT32_MIN and INT64_MIN cannot be written as a negated literal without a warning, so
    they are written as ``(-MAX - 1)``.
    """
    value = int(value)
    _, lo, hi = _C_TYPES[ctype]
    if not lo <= value <= hi:
        raise AfkdError(f"value {value} does not fit {ctype}")
    if ctype == "uint32_t":
        return f"0x{value:08x}u"
    suffix = "LL" if ctype == "int64_t" else ""
    if ctype in ("int32_t", "int64_t") and value == lo:
        return f"({-(hi)}{suffix} - 1)"
    return f"{value}{suffix}"


def c_float(value: float) -> str:
    """A float literal that round-trips exactly through float32."""
    value = float(np.float32(value))
    if not np.isfinite(value):
        raise AfkdError(f"non-finite constant {value} cannot be emitted")
    text = np.format_float_scientific(np.float32(value), unique=True, trim="0")
    return f"{text}f" if ("e" in text or "." in text) else f"{text}.0f"


def c_array_body(values, ctype: str, per_line: int = 16, indent: str = "    ") -> str:
    """The comma-separated elements of a C array initializer, ``per_line`` to a line.

    ``values`` may be any shape; it is flattened in C (row-major) order. Integers are
    range-checked against ``ctype``; ``float`` arrays use :func:`c_float`.
    """
    flat = np.asarray(values).reshape(-1)
    if ctype == "float":
        items = [c_float(v) for v in flat]
    else:
        items = [c_int(v, ctype) for v in flat]
    lines = [indent + ", ".join(items[i : i + per_line]) + "," for i in range(0, len(items), per_line)]
    return "\n".join(lines)


def c_string(text: str) -> str:
    """A C string literal of printable ASCII (class names); anything else is refused."""
    if not all(32 <= ord(ch) < 127 for ch in text):
        raise AfkdError(f"string {text!r}: only printable ASCII goes into generated C")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
