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
import select
import sys

from afkd import __version__
from afkd.errors import AfkdError

# name -> (module, one-line help). Order is the order of the pipeline.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "data": ("afkd.training.data.cli", "synthesize, import and inspect ECG datasets"),
    "train": ("afkd.training.cli_train", "train a model (DT-FENet, rhythm detector, beat CNN) from scratch"),
    "distill": ("afkd.training.cli_distill", "train a student from a teacher (FitNet, AT or none)"),
    "prune": ("afkd.training.cli_prune", "prune a checkpoint: lottery tickets, magnitude, multistage channels"),
    "eval": ("afkd.training.cli_eval", "SNR/NMSE/SC of f-wave models; F1, challenge score of classifiers"),
    "classify": ("afkd.host_tools.cli_classify", "answer a rhythm class per record of a WFDB folder (CSV)"),
    "export": ("afkd.export.cli", "export a checkpoint to ONNX, TFLite or a firmware project"),
    "validate": ("afkd.host_tools.cli_validate", "run firmware, compare with TFLite/PyTorch, report"),
    "flash": ("afkd.host_tools.flash", "write an exported firmware to a board through a debug probe"),
    "demo": ("afkd.demo", "synthesize, train, distill, export and validate on QEMU"),
}


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (``afkd data import: error: ...``) and exit 2, like AfkdError."""

    def error(self, message: str):
        message = " ".join(one_line(message).split("\n"))
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _top_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
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
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version or a usage error (one line, already printed)
        return done.code if isinstance(done.code, int) else 0
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # inside the try: a reader that went away is reported here, not at exit
        return code
    except AfkdError as err:
        return _error(args.command, str(err))
    except KeyboardInterrupt:
        print(f"afkd {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if _stdout_closed():
            return _error(args.command, "the output was closed early (broken pipe); the rest was not printed")
        return _error(args.command, "a pipe to a helper process closed (broken pipe)")
    except MemoryError:
        return _error(args.command, "out of memory")
    except OSError as err:
        # Disk full, permission denied, a folder where a file was expected: the user's to fix.
        where = f"{err.filename}: " if err.filename else ""
        return _error(args.command, f"{where}{err.strerror or err}")


def _error(command: str, message: str) -> int:
    print(f"afkd {command}: error: {one_line(message)}", file=sys.stderr)
    return 2


def one_line(message: str) -> str:
    """The message on one line as the user reads it: control characters (a path or value holding
    a carriage return or an escape sequence) shown escaped; further lines (a build log's tail)
    indented below it, so that the first line alone is the error."""
    def visible(text: str) -> str:
        return "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in text)
    first, *rest = message.split("\n")
    return "\n".join([visible(first), *("  " + visible(line) for line in rest)])


def _stdout_closed() -> bool:
    """True when stdout's reader is gone; stdout then goes to /dev/null so exit does not fail again."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        closed = any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        return False
    if closed:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    return closed


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
