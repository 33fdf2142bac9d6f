"""Task losses of DT-FENet training (Gan, Lin, Yang 2023, eqs. 4-6).

Per segment b of a batch, with s the true signal and s_hat the estimate, (batch, T)::

    NMSE_b = sum_t (s - s_hat)^2 / sum_t s^2
    L_task = sum_b NMSE_AA,b + alpha * sum_b NMSE_VA,b          alpha = 0.05

The sum over the batch (not the mean) is the paper's; with Adam the scale of the loss
hardly matters, and it keeps the figures comparable with the paper's curves.
alpha is small because the VA (QRST) is easy to get and ~10x larger: a plain sum would
spend the network's capacity on the VA.

The DT-FENet original trains on the negative SNR instead (``kind="neg_snr"``)::

    L_task = -(sum_b SNR_AA,b + alpha * sum_b SNR_VA,b),   SNR = 10 log10(sum s^2 / sum (s - s_hat)^2)
"""

from __future__ import annotations

import torch

ALPHA = 0.05
LOSS_KINDS = ("nmse", "neg_snr")
_EPS = 1e-8  # mV^2 sums of a 30 s segment are >> this; it only guards an all-zero crop


def nmse_per_segment(s: torch.Tensor, s_hat: torch.Tensor) -> torch.Tensor:
    """(batch, T), (batch, T) -> (batch,): sum (s - s_hat)^2 / sum s^2 per row."""
    if s.shape != s_hat.shape:
        raise ValueError(f"target {tuple(s.shape)} and estimate {tuple(s_hat.shape)} differ")
    return ((s - s_hat) ** 2).sum(dim=-1) / (s.pow(2).sum(dim=-1) + _EPS)


def snr_per_segment(s: torch.Tensor, s_hat: torch.Tensor) -> torch.Tensor:
    """(batch, T), (batch, T) -> (batch,): 10 log10(sum s^2 / sum (s - s_hat)^2) in dB."""
    if s.shape != s_hat.shape:
        raise ValueError(f"target {tuple(s.shape)} and estimate {tuple(s_hat.shape)} differ")
    return 10.0 * torch.log10((s.pow(2).sum(dim=-1) + _EPS) / (((s - s_hat) ** 2).sum(dim=-1) + _EPS))


def task_loss(aa: torch.Tensor, va: torch.Tensor, aa_hat: torch.Tensor, va_hat: torch.Tensor,
              alpha: float = ALPHA, kind: str = "nmse", lag: int = 0) -> torch.Tensor:
    """Scalar loss over a batch; all inputs (batch, T) in mV. See the module docstring.

    ``lag``: the estimates lag the truth by this many samples (a model with lookahead), so
    estimate sample t + lag is compared with truth sample t, over the T - lag samples both cover.
    """
    if lag:
        end = aa.shape[-1] - lag
        aa, va, aa_hat, va_hat = aa[:, :end], va[:, :end], aa_hat[:, lag:], va_hat[:, lag:]
    if kind == "nmse":
        return nmse_per_segment(aa, aa_hat).sum() + alpha * nmse_per_segment(va, va_hat).sum()
    if kind == "neg_snr":
        return -(snr_per_segment(aa, aa_hat).sum() + alpha * snr_per_segment(va, va_hat).sum())
    raise ValueError(f"loss kind must be one of {LOSS_KINDS}, got {kind!r}")
