"""Classifier models: shapes, causality, streaming == one-shot, MAC counts, checkpoints by family."""

import dataclasses

import pytest
import torch
from torch import nn

from afkd.errors import AfkdError
from afkd.training.checkpoint import load_checkpoint, save_checkpoint
from afkd.training.families import FAMILIES, family_of
from afkd.training.model import DTFENet, DTFENetConfig
from afkd.training.model_beat import BEAT_CNN, BeatCNN, BeatCNNConfig, beat_macs
from afkd.training.model_detector import (COMPACT_DETECTOR, RhythmTCN, RhythmTCNConfig, StreamingDetector,
                                          detector_macs_per_frame, detector_ring_frames, masked_mean_logits)
from afkd.training.model_resnet import HANNUN_34, ResNet34, ResNet34Config, resnet_macs_per_second

TINY_DETECTOR = RhythmTCNConfig(enc_channels=8, enc_kernel=8, bottleneck=8, hidden=12, blocks=3, repeats=2)
TINY_RESNET = ResNet34Config(base_filters=4, kernel=5, blocks=6)
TINY_BEAT = BeatCNNConfig(before=24, after=40, channels=(4, 8), kernels=(5, 3), dense=8)


def trained_looking(model: nn.Module) -> nn.Module:
    """Random BatchNorm statistics and PReLU slopes, so eval mode is not the identity."""
    torch.manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
        if isinstance(m, nn.PReLU):
            m.weight.data.uniform_(0.0, 0.5)
    return model.eval()


def tiny_detector(**overrides) -> RhythmTCN:
    torch.manual_seed(0)
    return trained_looking(RhythmTCN(dataclasses.replace(TINY_DETECTOR, **overrides)))


def test_detector_gives_frame_logits():
    model = tiny_detector()
    S = model.cfg.hop
    assert model(torch.randn(3, 50 * S)).shape == (3, 4, 50)
    with pytest.raises(ValueError, match="multiple of the hop"):
        model(torch.randn(1, 50 * S + 1))


def test_detector_is_causal_at_frame_granularity():
    model = tiny_detector()
    S, frames, cut = model.cfg.hop, 60, 31
    x = torch.randn(1, frames * S)
    y = x.clone()
    y[:, cut * S :] = torch.randn(1, (frames - cut) * S)
    fx, fy = model(x), model(y)
    assert torch.equal(fx[..., :cut], fy[..., :cut])  # frame t ends at sample tS+S-1 < cut*S
    assert not torch.equal(fx[..., cut:], fy[..., cut:])


def test_streaming_equals_one_shot_frame_for_frame_and_running_mean():
    model = tiny_detector()
    S, frames = model.cfg.hop, 80
    x = torch.randn(frames * S)
    with torch.no_grad():
        one_shot = model(x[None])[0]  # (classes, frames)
    stream = StreamingDetector(model)
    for t in range(frames):
        logits = stream.step(x[t * S : (t + 1) * S])
        torch.testing.assert_close(logits, one_shot[:, t], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(stream.result(), one_shot[:, : t + 1].mean(dim=1), rtol=1e-5, atol=1e-5)
    # The answer after the last hop is the record's answer from the one-shot model.
    assert int(stream.result().argmax()) == int(model.record_logits(x[None])[0].argmax())


def test_masked_mean_ignores_padding_frames():
    logits = torch.randn(2, 3, 10)
    out = masked_mean_logits(logits, torch.tensor([4, 10]))
    torch.testing.assert_close(out[0], logits[0, :, :4].mean(dim=1))
    torch.testing.assert_close(out[1], logits[1].mean(dim=1))
    # A record's answer does not depend on how much padding follows it.
    model = tiny_detector()
    S = model.cfg.hop
    x = torch.randn(1, 40 * S)
    padded = torch.cat([x, torch.zeros(1, 25 * S)], dim=1)
    lengths = torch.tensor([40 * S])
    torch.testing.assert_close(model.record_logits(padded, lengths), model.record_logits(x))


def count_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Convolution and dense MACs of one forward pass, counted from the actual layer outputs."""
    total = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv1d):
            per_output = module.in_channels // module.groups * module.kernel_size[0]
            total.append(output.numel() // output.shape[0] * per_output)
        elif isinstance(module, nn.Linear):
            total.append(module.in_features * module.out_features)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv1d, nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return sum(total)


def test_mac_counts_match_the_layers_that_run():
    det = tiny_detector()
    frames = 16
    assert count_macs(det, torch.randn(1, frames * det.cfg.hop)) == frames * detector_macs_per_frame(det.cfg)
    res = ResNet34(TINY_RESNET).eval()
    seconds = 2
    x = torch.randn(1, TINY_RESNET.fs * seconds // TINY_RESNET.window * TINY_RESNET.window)
    assert count_macs(res, x) == pytest.approx(resnet_macs_per_second(TINY_RESNET) * x.shape[1] / TINY_RESNET.fs)
    beat = BeatCNN(TINY_BEAT).eval()
    assert count_macs(beat, torch.randn(1, TINY_BEAT.window)) == beat_macs(TINY_BEAT)


def test_shipped_sizes_fit_the_firmware_budget():
    """The compact detector's budget (issue 15): <= ~2-3 M MACs/s, 64 KB of int8 weights,
    rings well inside 32 KB of RAM even with int16 activations."""
    cfg = COMPACT_DETECTOR
    params = sum(p.numel() for p in RhythmTCN(cfg).parameters())
    assert detector_macs_per_frame(cfg) * cfg.fs / cfg.hop < 2.0e6
    assert params < 48_000  # int8 weights + int32 biases under ~50 KB
    assert detector_ring_frames(cfg) * cfg.hidden * 2 < 20_000
    assert cfg.receptive_field_frames * cfg.hop / cfg.fs >= 8.0  # sees several beats


def test_resnet_has_the_papers_depth_and_windows():
    cfg = HANNUN_34
    model = ResNet34(cfg)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv1d)]
    assert len(convs) == 34  # 1 + 2 x 16 convolutions and the per-window dense head
    assert cfg.window == 256 and [cfg.filters(i) for i in (0, 4, 8, 12)] == [32, 64, 128, 256]
    assert sum(cfg.subsamples(i) for i in range(cfg.blocks)) == 8
    tiny = ResNet34(TINY_RESNET).eval()
    assert tiny(torch.randn(2, 4 * TINY_RESNET.window)).shape == (2, 4, 4)


def test_beat_cnn_shapes_and_centering():
    model = trained_looking(BeatCNN(TINY_BEAT))
    x = torch.randn(5, TINY_BEAT.window)
    assert model(x).shape == (5, 5)
    torch.testing.assert_close(model(x + 3.0), model(x), rtol=1e-4, atol=1e-4)  # offset removed
    with pytest.raises(ValueError, match="beat windows"):
        model(torch.randn(5, TINY_BEAT.window + 1))
    assert BEAT_CNN.window == 640 and BEAT_CNN.flat_features == 32 * 20


@pytest.mark.parametrize("model", [
    lambda: tiny_detector(), lambda: ResNet34(TINY_RESNET), lambda: BeatCNN(TINY_BEAT),
    lambda: DTFENet(DTFENetConfig(enc_channels=8, bottleneck=8, hidden=8, blocks=2)),
], ids=["rhythm_tcn", "resnet34", "beat_cnn", "dtfenet"])
def test_checkpoint_round_trip_keeps_family_config_and_weights(tmp_path, model):
    m = trained_looking(model())
    save_checkpoint(tmp_path / "m.pt", m, {"role": "test"})
    loaded, meta = load_checkpoint(tmp_path / "m.pt")
    assert type(loaded) is type(m) and loaded.cfg == m.cfg and meta["role"] == "test"
    assert family_of(loaded) is family_of(m)
    for (k, a), (_, b) in zip(m.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k
    assert type(m.cfg).from_dict(m.cfg.to_dict()) == m.cfg


def test_checkpoint_without_family_loads_as_dtfenet_and_unknown_family_is_refused(tmp_path):
    model = DTFENet(DTFENetConfig(enc_channels=8, bottleneck=8, hidden=8, blocks=2))
    payload = {"format": "afkd-checkpoint", "version": 1, "config": model.cfg.to_dict(),
               "state_dict": model.state_dict(), "meta": {}}
    torch.save(payload, tmp_path / "old.pt")
    loaded, _ = load_checkpoint(tmp_path / "old.pt")
    assert isinstance(loaded, DTFENet)
    torch.save({**payload, "family": "transformer"}, tmp_path / "alien.pt")
    with pytest.raises(AfkdError, match="alien.pt: unknown model family 'transformer'"):
        load_checkpoint(tmp_path / "alien.pt")
    # A config of one family under another family's name is a bad config, not a crash.
    torch.save({**payload, "family": "beat_cnn"}, tmp_path / "wrong.pt")
    with pytest.raises(AfkdError, match="wrong.pt: bad model config"):
        load_checkpoint(tmp_path / "wrong.pt")


def test_every_family_names_a_task():
    assert {f.task for f in FAMILIES.values()} == {"separation", "rhythm", "beats"}


@pytest.mark.parametrize("cls,bad", [
    (RhythmTCNConfig, dict(enc_kernel=7)), (RhythmTCNConfig, dict(classes=("N",))),
    (ResNet34Config, dict(dropout=1.0)), (BeatCNNConfig, dict(channels=(4,), kernels=(3, 3))),
    (BeatCNNConfig, dict(before=10, after=13)),
])
def test_bad_configs_are_refused(cls, bad):
    with pytest.raises(ValueError):
        cls(**bad)


@pytest.mark.parametrize("cls,field,value", [
    (RhythmTCNConfig, "hidden", "48"), (RhythmTCNConfig, "blocks", 10**6), (RhythmTCNConfig, "causal", True),
    (ResNet34Config, "base_filters", 1.5), (ResNet34Config, "blocks", True), (ResNet34Config, "dropout", "0.2"),
    (BeatCNNConfig, "channels", [8, -1]), (BeatCNNConfig, "center", 1), (BeatCNNConfig, "classes", ["N", 3]),
])
def test_config_fields_are_checked_before_any_tensor_exists(cls, field, value):
    with pytest.raises((ValueError, TypeError)):
        cls.from_dict({**cls().to_dict(), field: value})
    with pytest.raises(ValueError, match="JSON object"):
        cls.from_dict([1, 2])
