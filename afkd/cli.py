"""The ``afkd`` command line: one entry point, one module per subcommand.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``. Modules are imported only when their subcommand is used, so
``afkd --help`` does not pay for importing torch and TensorFlow.

Exit codes: 0 success, 1 a check did not hold (for example ``validate`` thresholds),
2 bad input (an :class:`~afkd.errors.AfkdError`, reported as one line).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from afkd import __version__
from afkd.errors import AfkdError

# name -> (module, one-line help). Order is the order of the pipeline.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "data": ("afkd.training.data.cli", "synthesize, import and inspect ECG datasets"),
    "train": ("afkd.training.cli_train", "train a DT-FENet (teacher or student) from scratch"),
    "distill": ("afkd.training.cli_distill", "train a student from a teacher (FitNet, AT or none)"),
    "prune": ("afkd.training.cli_prune", "prune a checkpoint: lottery tickets, magnitude, multistage channels"),
    "eval": ("afkd.training.cli_eval", "SNR/NMSE/SC of models or of average beat subtraction"),
    "export": ("afkd.export.cli", "export a checkpoint to ONNX, TFLite or a firmware project"),
    "validate": ("afkd.host_tools.cli_validate", "run firmware, compare with TFLite/PyTorch, report"),
    "demo": ("afkd.host_tools.cli_demo", "synthesize, train, distill, export and validate on QEMU"),
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="afkd",
        description="AF f-wave extraction: data, DT-FENet training and distillation, "
        "export to ONNX/TFLite/C, and validation of the firmware.",
    )
    parser.add_argument("--version", action="version", version=f"afkd {__version__}")
    return parser


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """A parser with every subcommand listed and the requested one fully populated."""
    parser = _top_parser()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except AfkdError as err:
        print(f"afkd {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"afkd {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        sys.stdout.flush()


def export_alias(argv: list[str] | None = None) -> int:
    """``afkd-export ...`` is ``afkd export ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    return main(["export", *argv])


def _quiet_frameworks() -> None:
    # TensorFlow and oneDNN print pages of banners on import; users want our lines only.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def _entry() -> None:  # pragma: no cover - exercised through the console script
    _quiet_frameworks()
    sys.exit(main())


if __name__ == "__main__":  # python -m afkd.cli
    _entry()


def _export_entry() -> None:  # pragma: no cover
    _quiet_frameworks()
    sys.exit(export_alias())
