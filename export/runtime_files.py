"""Which runtime files a generated project needs: the kernels its step calls, and no others.

A kernel is found by the function the generated C calls: the runtime .c file that defines it
(at the start of a line, not ``static``) is copied, with every runtime file whose functions
that one calls in turn, and every header any copied file includes. The harness's link code
(the UART protocol and its CRC) is always copied. So a kernel added under firmware/runtime is
copied into exactly the projects that call it, with no list to keep.
"""

from __future__ import annotations

import re
from pathlib import Path

from afkd.errors import AfkdError

#: The harness's own runtime files (firmware/harness/main.c frames the UART with them).
HARNESS_RUNTIME = ("afkd_protocol.c", "afkd_crc.c")

_DEFINITION = re.compile(r"^(?!static\b)[A-Za-z_][\w \t\*]*?\b(afkd_\w+)\s*\(", re.M)
_CALL = re.compile(r"\b(afkd_\w+)\s*\(")
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def _strip_comments(text: str) -> str:
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)


def runtime_files(generated_sources: list[str], runtime_dir: Path) -> list[str]:
    """Names of the files in ``runtime_dir`` a project builds with whose own C (the generated
    model, the harness and board code) is ``generated_sources`` (their text): sorted, .c files
    first, then headers."""
    defined_in: dict[str, str] = {}
    code = {path.name: _strip_comments(path.read_text()) for path in sorted(runtime_dir.glob("*.[ch]"))}
    for name, text in code.items():
        if name.endswith(".c"):
            for function in _DEFINITION.findall(text):
                defined_in.setdefault(function, name)
    for name in HARNESS_RUNTIME:
        if name not in code:
            raise AfkdError(f"{runtime_dir}: no {name} (the harness's link code)")

    sources: set[str] = set(HARNESS_RUNTIME)
    pending = [_strip_comments(text) for text in generated_sources] + [code[name] for name in HARNESS_RUNTIME]
    while pending:
        for function in _CALL.findall(pending.pop()):
            name = defined_in.get(function)
            if name is not None and name not in sources:
                sources.add(name)
                pending.append(code[name])

    headers: set[str] = set()
    pending = [_strip_comments(text) for text in generated_sources] + [code[name] for name in sources]
    while pending:
        for header in _INCLUDE.findall(pending.pop()):
            if header in code and header not in headers:
                headers.add(header)
                pending.append(code[header])
    return sorted(sources) + sorted(headers)
