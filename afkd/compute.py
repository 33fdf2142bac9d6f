"""Where torch runs: the ``--device`` and ``--threads`` options every training or inference
command shares (``afkd train``, ``distill``, ``eval``, ``prune``), and what they resolve to.

``--threads`` defaults to the cores actually free: the cores this process may run on
(``os.sched_getaffinity``) less the load already on them (the 1-minute load average). torch's
own default, every core, makes a run on a shared machine fight the other jobs for them: on the
project's 2-core machine at load average 17, a teacher training step took 89 s with 2 threads and
5.2 s with 1 (README.md, "How long").
"""

from __future__ import annotations

import argparse
import os

from afkd.argtypes import positive_int
from afkd.errors import AfkdError

DEVICES = ("auto", "cpu", "cuda")
NO_GPU = "--device cuda: torch sees no CUDA GPU here (this torch build or machine has none); use --device cpu"


def usable_cores() -> int:
    """Cores this process may be scheduled on (its affinity mask, or cgroup-limited count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def free_cores(cores: int | None = None, load: float | None = None) -> int:
    """Cores not already busy: usable cores minus the 1-minute load average, at least 1."""
    cores = usable_cores() if cores is None else cores
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = 0.0
    return max(1, min(cores, int(cores - load + 0.5)))


def add_compute_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, device: bool = True) -> None:
    """Add ``--threads`` (and ``--device``) to a command's parser."""
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="torch CPU threads (default: the cores free now, from this process's CPU "
                             "affinity less the load average; 1 on a busy machine)")
    if device:
        parser.add_argument("--device", choices=DEVICES, default="auto",
                            help="where torch runs: cpu, cuda (fails without a GPU) or auto (a GPU when "
                                 "torch sees one; default)")


def apply_threads(threads: int | None) -> int:
    """Set torch's CPU threads; ``None``: the free cores shared among the processes torchrun
    started on this node (``LOCAL_WORLD_SIZE``). Returns the number set."""
    import torch

    if threads is not None and threads < 1:
        raise AfkdError(f"--threads {threads}: must be at least 1")
    try:
        processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        processes = 1
    count = max(1, free_cores() // processes) if threads is None else threads
    torch.set_num_threads(count)
    return count


def resolve_device(choice: str = "auto", index: int = 0):
    """``torch.device`` for ``--device`` (``index``: the GPU, e.g. torchrun's LOCAL_RANK)."""
    import torch

    if choice not in DEVICES:
        raise AfkdError(f"--device {choice!r}: choose one of {', '.join(DEVICES)}")
    gpus = torch.cuda.device_count()
    if choice == "cuda" and gpus == 0:
        raise AfkdError(NO_GPU)
    if choice == "cpu" or gpus == 0:
        return torch.device("cpu")
    if index >= gpus:
        raise AfkdError(f"GPU {index} asked for, but this node has {gpus} GPU(s)")
    return torch.device("cuda", index)
