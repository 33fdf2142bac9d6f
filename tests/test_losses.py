"""Task losses and the FitNet / attention-transfer KD losses against hand-computed values."""

import dataclasses
import math

import pytest
import torch

from afkd.errors import AfkdError
from afkd.training.distill import DistillationLoss, attention_loss, attention_map
from afkd.training.losses import nmse_per_segment, snr_per_segment, task_loss
from afkd.training.model import DTFENet, DTFENetConfig

TINY = dict(enc_channels=4, bottleneck=4, hidden=4, blocks=2)


def test_nmse_and_snr_per_segment_by_hand():
    s = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    s_hat = torch.tensor([[1.0, 0.0], [3.0, 3.0]])
    # row 0: error 2^2 = 4 over 1 + 4 = 5; row 1: error 1 over 25
    assert torch.allclose(nmse_per_segment(s, s_hat), torch.tensor([0.8, 0.04]))
    assert torch.allclose(snr_per_segment(s, s_hat), torch.tensor([10 * math.log10(5 / 4), 10 * math.log10(25.0)]))


def test_task_loss_sums_the_batch_and_weights_va_by_alpha():
    aa = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    aa_hat = torch.tensor([[1.0, 0.0], [3.0, 3.0]])  # NMSE 0.8 and 0.04
    va = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    va_hat = torch.zeros(2, 2)  # NMSE 1 and 1
    loss = task_loss(aa, va, aa_hat, va_hat, alpha=0.05)
    assert loss.item() == pytest.approx(0.84 + 0.05 * 2.0, rel=1e-5)
    neg = task_loss(aa, aa, aa_hat, aa_hat, alpha=0.5, kind="neg_snr")
    snr_sum = 10 * math.log10(5 / 4) + 10 * math.log10(25.0)
    assert neg.item() == pytest.approx(-1.5 * snr_sum, rel=1e-5)
    with pytest.raises(ValueError):
        task_loss(aa, va, aa_hat, va_hat, kind="l1")
    with pytest.raises(ValueError):
        nmse_per_segment(aa, aa_hat[:, :1])


def test_attention_map_and_loss_by_hand():
    student = torch.tensor([[[1.0, 0.0], [1.0, 2.0]]])  # (1, 2 channels, 2 frames): energy [2, 4]
    teacher = torch.tensor([[[3.0, 0.0]]])  # (1, 1 channel, 2 frames): energy [9, 0]
    q = attention_map(student)
    assert torch.allclose(q, torch.tensor([[1 / math.sqrt(5), 2 / math.sqrt(5)]]))
    expected = ((1 / math.sqrt(5) - 1) ** 2 + (2 / math.sqrt(5)) ** 2) / 2
    assert attention_loss(student, teacher).item() == pytest.approx(expected, rel=1e-6)
    assert attention_loss(teacher * 7, teacher).item() == pytest.approx(0.0, abs=1e-12)  # scale-free


def _feats(value_enc: float, value_mask: float, channels: int, frames: int = 3) -> dict:
    return {"enc_aa": torch.full((1, channels, frames), value_enc), "enc_va": torch.full((1, channels, frames), 2 * value_enc),
            "mask_aa": torch.full((1, channels, frames), value_mask), "mask_va": torch.zeros(1, channels, frames),
            "aa": torch.zeros(1, frames * 10)}


def test_fitnet_loss_by_hand():
    s_cfg, t_cfg = DTFENetConfig(enc_channels=1), DTFENetConfig(enc_channels=2)
    kd = DistillationLoss("fitnet", s_cfg, t_cfg, gamma=0.5, beta=3.0, alpha=0.1)
    with torch.no_grad():  # every regressor: teacher channel 0 = 2 x, channel 1 = -x, no bias
        for reg in kd.regressors.values():
            reg.weight.copy_(torch.tensor([[[2.0]], [[-1.0]]]))
            reg.bias.zero_()
    student = _feats(1.0, 0.5, channels=1)  # regressed: enc_aa [2, -1], enc_va [4, -2], mask_aa [1, -0.5]
    teacher = _feats(1.0, 1.0, channels=2)  # enc_aa 1, enc_va 2, mask_aa 1, mask_va 0
    loss, parts = kd(student, teacher)
    enc_aa = ((2 - 1) ** 2 + (-1 - 1) ** 2) / 2  # 2.5
    enc_va = ((4 - 2) ** 2 + (-2 - 2) ** 2) / 2  # 10
    mask_aa = ((1 - 1) ** 2 + (-0.5 - 1) ** 2) / 2  # 1.125
    mask_va = 0.0
    assert parts["kd_enc_aa"] == pytest.approx(enc_aa)
    assert parts["kd_mask_aa"] == pytest.approx(mask_aa)
    assert loss.item() == pytest.approx(0.5 * (enc_aa + 0.1 * enc_va) + 3.0 * (mask_aa + 0.1 * mask_va))


def test_default_weights_are_the_papers():
    cfg = DTFENetConfig()
    fit = DistillationLoss("fitnet", cfg, cfg)
    at = DistillationLoss("at", cfg, cfg)
    assert (fit.gamma, fit.beta, at.gamma, at.beta) == (0.01, 100.0, 1e4, 1e4)
    assert len(at.regressors) == 0 and len(fit.regressors) == 4


@pytest.mark.parametrize("method", ["fitnet", "at", "none"])
def test_kd_losses_on_real_features_train_the_student_only(method):
    torch.manual_seed(0)
    student = DTFENet(DTFENetConfig(**TINY))
    teacher = DTFENet(DTFENetConfig(**{**TINY, "enc_channels": 6, "causal": False, "norm": "gln"})).eval()
    kd = DistillationLoss(method, student.cfg, teacher.cfg)
    x = torch.randn(2, 200)
    s_feats, t_feats = student.features(x), teacher.features(x)
    loss, parts = kd(s_feats, t_feats)
    assert loss.shape == ()
    if method == "none":
        assert loss.item() == 0.0 and parts == {}
        return
    assert loss.item() > 0 and set(parts) == {"kd_enc_aa", "kd_enc_va", "kd_mask_aa", "kd_mask_va"}
    loss.backward()
    assert student.encoder_aa.weight.grad is not None and student.encoder_aa.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in teacher.parameters())


def test_misaligned_frames_are_refused():
    with pytest.raises(AfkdError, match="frames do not align"):
        DistillationLoss("at", DTFENetConfig(enc_kernel=20), DTFENetConfig(enc_kernel=16))
    with pytest.raises(AfkdError, match="method"):
        DistillationLoss("kd", DTFENetConfig(), DTFENetConfig())


def test_task_loss_compares_a_lagging_estimate_with_the_truth_it_estimates():
    torch.manual_seed(2)
    aa, va, lag = torch.randn(2, 300), torch.randn(2, 300), 30
    late = lambda s: torch.cat([torch.randn(2, lag), s[:, :-lag]], dim=-1)  # noqa: E731  s, lag samples late
    assert task_loss(aa, va, late(aa), late(va), lag=lag).item() == pytest.approx(0.0, abs=1e-6)
    assert task_loss(aa, va, late(aa), late(va)).item() > 1.0  # unaligned


def test_a_lookahead_student_mask_pairs_with_the_teacher_mask_of_the_same_encoder_frame():
    """Student mask t weights encoder frame t - D: it is compared with teacher mask t - D.

    The teacher's masks here are the student's moved D frames earlier, so the paired terms are
    exactly zero; without the shift (lookahead 0) the same tensors do not match."""
    D, frames = 3, 20
    torch.manual_seed(1)
    s_mask = torch.rand(2, 4, frames)
    t_mask = torch.cat([s_mask[..., D:], torch.rand(2, 4, D)], dim=-1)  # t_mask[u] = s_mask[u + D]
    enc = torch.rand(2, 4, frames)
    student = {"enc_aa": enc, "enc_va": enc, "mask_aa": s_mask, "mask_va": s_mask}
    teacher = {"enc_aa": enc, "enc_va": enc, "mask_aa": t_mask, "mask_va": t_mask}
    cfg = DTFENetConfig(enc_channels=4)
    _, parts = DistillationLoss("at", dataclasses.replace(cfg, lookahead=D), cfg)(student, teacher)
    assert parts["kd_mask_aa"] == 0.0 and parts["kd_mask_va"] == 0.0 and parts["kd_enc_aa"] == 0.0
    _, unshifted = DistillationLoss("at", cfg, cfg)(student, teacher)
    assert unshifted["kd_mask_aa"] > 0
