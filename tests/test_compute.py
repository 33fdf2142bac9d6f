"""--device and --threads: the shared options of train, distill and eval (afkd/compute.py)."""

import pytest
import torch

from afkd import cli
from afkd.compute import apply_threads, free_cores, resolve_device
from afkd.errors import AfkdError
from afkd.training import ddp


def test_free_cores_are_the_usable_cores_less_the_load():
    assert free_cores(cores=2, load=0.0) == 2
    assert free_cores(cores=2, load=1.2) == 1
    assert free_cores(cores=2, load=13.6) == 1  # a busy machine still gets one thread
    assert free_cores(cores=16, load=3.4) == 13


def test_threads_default_to_the_free_cores_shared_by_local_processes(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setattr("afkd.compute.free_cores", lambda: 6)
        assert apply_threads(None) == 6 and torch.get_num_threads() == 6
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # torchrun: four processes on this node
        assert apply_threads(None) == 1
        assert apply_threads(3) == 3
        with pytest.raises(AfkdError, match="--threads 0: must be at least 1"):
            apply_threads(0)
    finally:
        torch.set_num_threads(before)


def test_device_choice_resolves_or_says_why_not(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert resolve_device("auto").type == "cpu" and resolve_device("cpu").type == "cpu"
    with pytest.raises(AfkdError, match="--device cuda: torch sees no CUDA GPU"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("auto", 1) == torch.device("cuda", 1) and resolve_device("cpu").type == "cpu"


def test_placement_takes_the_device_option():
    assert ddp.placement_from_env({}, cuda_devices=2, device="cpu").device.type == "cpu"
    assert ddp.placement_from_env({"LOCAL_RANK": "1", "WORLD_SIZE": "2", "RANK": "1"}, cuda_devices=2,
                                  device="auto").device == torch.device("cuda", 1)
    with pytest.raises(AfkdError, match="--device cuda: torch sees no CUDA GPU"):
        ddp.placement_from_env({}, cuda_devices=0, device="cuda")
    with pytest.raises(AfkdError, match="--device 'tpu'"):
        ddp.placement_from_env({}, cuda_devices=0, device="tpu")


@pytest.mark.parametrize("command", ["train", "distill", "eval", "prune"])
def test_each_torch_command_offers_device_and_threads(command, capsys):
    try:
        code = cli.main([command, "--help"])
    except SystemExit as stop:  # argparse's help exits
        code = stop.code
    assert code == 0
    text = capsys.readouterr().out
    assert "--device {auto,cpu,cuda}" in text and "--threads N" in text


def test_eval_on_cuda_without_a_gpu_is_one_clear_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    from afkd.training.data.synth import synth_dataset

    data = synth_dataset(tmp_path / "data", 1, 4.0, 250.0)
    assert cli.main(["eval", "--method", "abs", "--data", str(data), "--device", "cuda", "--threads", "1"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "afkd eval: error: --device cuda: torch sees no CUDA GPU here (this torch build or machine has none); "
        "use --device cpu"]
