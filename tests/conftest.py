"""Shared test policy.

Tests that need an external tool (the ARM toolchain, QEMU) or the real records in
``../shared/data`` skip with a reason on a user's clone that lacks them, and FAIL in CI
(``CI`` set), where a skipped check would hide a regression. Renode is the one
exception: no reachable package registry has it, so its tests skip everywhere it is
missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("AFKD_SHARED_DATA", REPO.parent / "shared" / "data"))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _missing(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (CI must not skip this check)", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        _missing(f"{name} is not on PATH")
    return path


def require_shared_data(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        _missing(f"{path} is missing (the real PhysioNet records live in ../shared/data)")
    return path


def require_renode() -> str:
    path = shutil.which("renode")
    if path is None:
        pytest.skip("renode is not on PATH (no reachable registry has it; skipped in CI too)")
    return path


@pytest.fixture
def shared_data() -> Path:
    return require_shared_data()


@pytest.fixture
def arm_gcc() -> str:
    return require_tool("arm-none-eabi-gcc")


@pytest.fixture
def qemu_arm() -> str:
    return require_tool("qemu-system-arm")
