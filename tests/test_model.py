"""DT-FENet shapes, causality, config and checkpoint round trips, checkpoint refusal."""

import dataclasses

import pytest
import torch

from afkd.errors import AfkdError
from afkd.training.checkpoint import load_checkpoint, save_checkpoint
from afkd.training.model import STUDENT, DTFENet, DTFENetConfig, macs_per_frame

TINY = dict(enc_channels=8, bottleneck=8, hidden=12, blocks=3, repeats=2)


def tiny(**overrides) -> DTFENet:
    torch.manual_seed(0)
    return DTFENet(DTFENetConfig(**{**TINY, **overrides})).eval()


@pytest.mark.parametrize("causal,norm", [(True, "batch"), (False, "gln"), (True, "none")])
def test_shapes(causal, norm):
    model = tiny(causal=causal, norm=norm)
    T = 40 * model.cfg.hop
    feats = model.features(torch.randn(3, T))
    frames = T // model.cfg.hop
    for key in ("enc_aa", "enc_va", "mask_aa", "mask_va"):
        assert feats[key].shape == (3, 8, frames), key
    assert feats["aa"].shape == feats["va"].shape == (3, T)
    assert model(torch.randn(3, 1, T))[0].shape == (3, T)


def test_input_length_must_be_whole_hops():
    with pytest.raises(ValueError, match="multiple of the hop"):
        tiny()(torch.randn(1, 101))


@pytest.mark.parametrize("interaction,lookahead", [(True, 0), (False, 0), (True, 3)])
def test_causal_student_ignores_the_future_at_frame_granularity(interaction, lookahead):
    model = tiny(interaction=interaction, lookahead=lookahead)
    S, frames = model.cfg.hop, 50
    x = torch.randn(1, frames * S)
    cut = 23  # change every input sample from hop `cut` on
    y = x.clone()
    y[:, cut * S :] = torch.randn(1, (frames - cut) * S)
    fx, fy = model.features(x), model.features(y)
    # Frame t covers samples [(t-1)S, tS+S): frames < cut see none of the change.
    for key in ("enc_aa", "mask_aa", "mask_va"):
        assert torch.equal(fx[key][..., :cut], fy[key][..., :cut]), key
        assert not torch.equal(fx[key][..., cut:], fy[key][..., cut:]), key
    # Output hop t needs frames t and t+1, so hops < cut-1 are untouched.
    assert torch.equal(fx["aa"][:, : (cut - 1) * S], fy["aa"][:, : (cut - 1) * S])
    assert not torch.equal(fx["aa"][:, (cut - 1) * S :], fy["aa"][:, (cut - 1) * S :])


def test_lookahead_masks_weight_the_frame_that_many_steps_back():
    """With lookahead D the output is the lookahead-0 graph's with each mask applied D frames late:
    its first D-1 hops are silence (hop D-1 holds the first half of frame D's window, which the
    lookahead-0 graph crops), and predict() realigns it with the ECG."""
    from afkd.training.evaluate import predict

    D = 3
    model = tiny(lookahead=D)
    S = model.cfg.hop
    x = torch.randn(1, 40 * S)
    feats = model.features(x)
    assert model.cfg.lookahead_samples == D * S
    assert torch.equal(feats["aa"][:, : (D - 1) * S], torch.zeros(1, (D - 1) * S))  # no decoder bias: exact zeros
    delayed = torch.nn.functional.pad(feats["enc_aa"], (D, 0))[..., :40]
    want = model.decoder_aa(delayed * feats["mask_aa"])[:, 0, S : S + 40 * S]
    torch.testing.assert_close(feats["aa"], want)
    # predict feeds D hops of silence after the ECG and drops the first D: aligned, same length.
    aligned, _ = predict(model, [x[0].numpy()])[0]
    padded = torch.nn.functional.pad(x, (0, D * S))
    torch.testing.assert_close(torch.from_numpy(aligned), model(padded)[0][0, D * S :])


def test_non_causal_teacher_does_see_the_future():
    model = tiny(causal=False, norm="none")
    x = torch.randn(1, 400)
    y = x.clone()
    y[:, 300:] += 1.0
    assert not torch.equal(model.features(x)["mask_aa"][..., :20], model.features(y)["mask_aa"][..., :20])


def test_config_round_trip_rebuilds_the_same_model(tmp_path):
    model = tiny()
    model.train()
    model(torch.randn(4, 200))  # move BatchNorm running statistics off their defaults
    model.eval()
    save_checkpoint(tmp_path / "m.pt", model, {"role": "student"})
    loaded, meta = load_checkpoint(tmp_path / "m.pt")
    assert meta == {"role": "student"}
    assert loaded.cfg == model.cfg
    x = torch.randn(2, 300)
    assert torch.equal(loaded(x)[0], model(x)[0])
    assert DTFENetConfig.from_dict(model.cfg.to_dict()) == model.cfg


def test_bad_configs_are_refused():
    with pytest.raises(ValueError):
        DTFENetConfig(enc_kernel=15)
    with pytest.raises(ValueError):
        DTFENetConfig(norm="layer")
    with pytest.raises(ValueError, match="lookahead"):
        DTFENetConfig(lookahead=-1)
    with pytest.raises(ValueError, match="unknown"):
        DTFENetConfig.from_dict({**STUDENT.to_dict(), "bogus": 1})


def test_macs_per_frame_matches_a_hand_count():
    cfg = DTFENetConfig(enc_channels=4, enc_kernel=6, bottleneck=3, hidden=5, kernel=3, blocks=2, repeats=1)
    enc = 4 * 6
    tcn = 4 * 3 + 2 * (3 * 5 + 5 * 3 + 5 * 3)
    assert macs_per_frame(cfg) == 2 * (enc + tcn + 3 * 4 * 2 + 4 * 6)
    assert macs_per_frame(dataclasses.replace(cfg, interaction=False)) == 2 * (enc + tcn + 3 * 4 + 4 * 6)


def test_checkpoint_refusals(tmp_path):
    with pytest.raises(AfkdError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(AfkdError, match="garbage.pt: not a readable"):
        load_checkpoint(garbage)
    good = tmp_path / "good.pt"
    save_checkpoint(good, tiny())
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(AfkdError, match="truncated.pt"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": tiny().state_dict()}, foreign)
    with pytest.raises(AfkdError, match="not an afkd checkpoint"):
        load_checkpoint(foreign)
    mismatched = tmp_path / "mismatch.pt"
    payload = torch.load(good, weights_only=True)
    payload["config"]["hidden"] = 16
    torch.save(payload, mismatched)
    with pytest.raises(AfkdError, match="weights do not match the config"):
        load_checkpoint(mismatched)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_checkpoint_with_pickled_objects_is_refused(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"format": "afkd-checkpoint", "version": 1, "config": {}, "state_dict": {}, "x": _Evil()}, evil)
    with pytest.raises(AfkdError, match="evil.pt: not a readable"):
        load_checkpoint(evil)
