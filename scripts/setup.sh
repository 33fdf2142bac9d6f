#!/usr/bin/env bash
# Everything `make demo` and `make test` need, on a fresh Debian/Ubuntu machine.
# Idempotent: a second run checks and returns in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the report test opens the HTML page headless, as a person would.
# clang + libclang-rt: libFuzzer with ASan/UBSan for the firmware fuzz tests.
APT_PACKAGES="gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm cmake chromium clang libclang-rt-14-dev"
PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.afkd-installed

missing_tools() {
    local missing=""
    command -v arm-none-eabi-gcc >/dev/null || missing="$missing gcc-arm-none-eabi libnewlib-arm-none-eabi"
    # newlib ships the C library headers the firmware needs; gcc alone is not enough.
    [ -e /usr/lib/arm-none-eabi/include/stdint.h ] || [ -e /usr/lib/arm-none-eabi/newlib/include/stdint.h ] \
        || missing="$missing libnewlib-arm-none-eabi"
    command -v qemu-system-arm >/dev/null || missing="$missing qemu-system-arm"
    command -v cmake >/dev/null || missing="$missing cmake"
    command -v chromium >/dev/null || missing="$missing chromium"
    command -v clang >/dev/null || missing="$missing clang"
    ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || missing="$missing libclang-rt-14-dev"
    echo "$missing"
}

missing=$(missing_tools)
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing$missing with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq $APT_PACKAGES >/dev/null
    else
        echo "setup: missing$missing. Run as root:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y $APT_PACKAGES" >&2
        exit 1
    fi
fi

# Re-install Python packages only when the pins or the package metadata changed.
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x $VENV/bin/python ]; then
    echo "setup: creating $VENV"
    $PYTHON -m venv $VENV
fi
if [ "$(cat $STAMP 2>/dev/null)" != "$want" ]; then
    echo "setup: installing Python packages into $VENV (first time: a few minutes, about 3 GB)"
    log=$VENV/.afkd-install.log
    rm -f "$log"
    # pip prints each package and its download progress as it goes; --log keeps the details.
    # requirements.lock pins torch==2.13.0, the small CPU build; the package itself adds no new versions.
    if ! { $VENV/bin/python -m pip install --log "$log" --upgrade pip \
           && $VENV/bin/python -m pip install --log "$log" -r requirements.lock \
           && $VENV/bin/python -m pip install --log "$log" --no-deps -e .; }; then
        echo "setup: pip failed; the whole log is in $log" >&2
        exit 1
    fi
    echo "$want" > $STAMP
    echo "setup: done. The afkd command is in $VENV/bin: run \`source $VENV/bin/activate\` in each new"
    echo "       shell to put it on PATH (or call $VENV/bin/afkd)."
fi
