"""Where a run executes: one process (CPU or one GPU) or one process per GPU under torchrun.

``torchrun --nproc_per_node=G -m afkd train ...`` sets WORLD_SIZE, RANK and LOCAL_RANK in
each process's environment; nothing else changes for the user. We then join the process
group (NCCL on GPUs, Gloo on CPUs), put process ``LOCAL_RANK`` on GPU ``LOCAL_RANK``, draw
each rank's training crops from its own seeded generator (rank in the seed), and let only
rank 0 write files or print progress.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.distributed as dist

from afkd.errors import AfkdError


@dataclass(frozen=True)
class Placement:
    rank: int  # global process index, 0 .. world_size-1
    local_rank: int  # index on this node: picks the GPU
    world_size: int
    device: torch.device
    distributed: bool  # True: a process group is (to be) joined and the model wrapped in DDP

    @property
    def is_main(self) -> bool:
        """Only the main process writes checkpoints, logs and progress."""
        return self.rank == 0

    @property
    def backend(self) -> str:
        return "nccl" if self.device.type == "cuda" else "gloo"


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise AfkdError(f"environment {name}={value!r}: not an integer") from None


def placement_from_env(env: Mapping[str, str] | None = None, cuda_devices: int | None = None,
                       device: str = "auto") -> Placement:
    """Decide rank, world size and device from the torchrun variables and ``--device`` (cpu,
    cuda or auto: a GPU when there is one) (pure; joins nothing)."""
    from afkd.compute import DEVICES, NO_GPU

    env = os.environ if env is None else env
    if device not in DEVICES:
        raise AfkdError(f"--device {device!r}: choose one of {', '.join(DEVICES)}")
    cuda_devices = torch.cuda.device_count() if cuda_devices is None else cuda_devices
    world = _env_int(env, "WORLD_SIZE", 1)
    rank = _env_int(env, "RANK", 0)
    local = _env_int(env, "LOCAL_RANK", 0)
    if world < 1 or not 0 <= rank < world:
        raise AfkdError(f"environment: RANK={rank} and WORLD_SIZE={world} are inconsistent")
    if device == "cuda" and cuda_devices == 0:
        raise AfkdError(NO_GPU)
    if cuda_devices > 0 and device != "cpu":
        if local >= cuda_devices:
            raise AfkdError(f"environment: LOCAL_RANK={local} but this node has {cuda_devices} GPU(s)")
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    return Placement(rank=rank, local_rank=local, world_size=world, device=device, distributed=world > 1)


def start(placement: Placement) -> None:
    """Join the process group (distributed runs only) and select the GPU."""
    if placement.device.type == "cuda":
        torch.cuda.set_device(placement.device)
    if placement.distributed and not dist.is_initialized():
        dist.init_process_group(backend=placement.backend)


def stop(placement: Placement) -> None:
    if placement.distributed and dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: torch.nn.Module, placement: Placement) -> torch.nn.Module:
    """The module on its device, inside DistributedDataParallel when distributed."""
    module = module.to(placement.device)
    if not placement.distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [placement.device.index] if placement.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def gather(obj: Any, placement: Placement) -> list[Any]:
    """Every rank's ``obj`` in rank order (a one-element list when not distributed)."""
    if not placement.distributed:
        return [obj]
    out: list[Any] = [None] * placement.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(placement: Placement) -> None:
    if placement.distributed:
        dist.barrier()
