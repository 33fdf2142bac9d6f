"""Knowledge-distillation losses: FitNet and attention transfer (Gan, Lin, Yang 2023, eqs. 7-16).

Both act on the four intermediate tensors of :meth:`DTFENet.features`: the encoder outputs
``enc_aa, enc_va`` and the masks ``mask_aa, mask_va``, each (batch, N, frames). Teacher and
student share the framing (same encoder kernel and hop, causal frame alignment, see the
model docstring), so frame t of the student and of the teacher cover the same samples and
the losses compare them one to one. A causal student may learn from a non-causal teacher:
the teacher's frames look ahead, the student's cannot; the loss only pulls the student
towards what it can reach.

FitNet (Romero et al. 2015). A 1x1 Conv1d regressor r_k per tensor maps the student's
N_s channels to the teacher's N_t; with MSE the mean over (batch, N_t, frames)::

    L_enc  = MSE(r_enc_aa(F_s_aa), F_t_aa)  + alpha * MSE(r_enc_va(F_s_va), F_t_va)
    L_mask = MSE(r_mask_aa(M_s_aa), M_t_aa) + alpha * MSE(r_mask_va(M_s_va), M_t_va)
    L_KD   = gamma * L_enc + beta * L_mask              gamma = 0.01, beta = 100

Attention transfer (Zagoruyko and Komodakis 2017). The attention map of a tensor is its
channel energy per frame, L2-normalised per sample, so that N_s != N_t needs no regressor::

    Q(F)[b, t] = sum_c F[b, c, t]^2 ;   Q_hat = Q / ||Q[b, :]||_2
    L_AT(F_s, F_t) = mean_{b,t} (Q_hat(F_s) - Q_hat(F_t))^2
    L_KD = gamma (L_AT(enc_aa) + alpha L_AT(enc_va)) + beta (L_AT(mask_aa) + alpha L_AT(mask_va))
                                                     gamma = beta = 1e4

The regressors are trained with the student and thrown away afterwards: the deployed
student is the plain DT-FENet.

Outputs (``outputs``; used by ``afkd prune`` to fine-tune a pruned model towards the model it
was pruned from): the student's separated signals against the teacher's, NMSE as the task
loss weighs them; teacher and student must lag their input equally (the same lookahead)::

    L_KD = gamma * (NMSE(aa_t, aa_s) + alpha * NMSE(va_t, va_s))       gamma = 1
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from afkd.errors import AfkdError
from afkd.training.losses import ALPHA
from afkd.training.model import DTFENetConfig

METHODS = ("fitnet", "at", "outputs", "none")
FEATURES = ("enc_aa", "enc_va", "mask_aa", "mask_va")
DEFAULT_WEIGHTS = {"fitnet": (0.01, 100.0), "at": (1e4, 1e4), "outputs": (1.0, 0.0), "none": (0.0, 0.0)}  # (gamma, beta)


def attention_map(feature: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """(batch, C, frames) -> (batch, frames): sum_c F^2, divided by its L2 norm over frames."""
    q = feature.pow(2).sum(dim=1)  # (batch, frames)
    return q / (q.norm(p=2, dim=1, keepdim=True) + eps)


def attention_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the normalised attention maps (scalar)."""
    return (attention_map(student) - attention_map(teacher)).pow(2).mean()


def check_alignment(student: DTFENetConfig, teacher: DTFENetConfig) -> None:
    """Teacher and student must frame the signal identically for one-to-one frame losses."""
    if (student.fs, student.enc_kernel) != (teacher.fs, teacher.enc_kernel):
        raise AfkdError(
            f"teacher/student: frames do not align (teacher fs {teacher.fs} Hz, encoder kernel "
            f"{teacher.enc_kernel}; student fs {student.fs} Hz, encoder kernel {student.enc_kernel})")


class DistillationLoss(nn.Module):
    """L_KD for one method; holds the FitNet regressors (trainable) when the method needs them.

    ``forward(student_feats, teacher_feats)`` takes the dicts of :meth:`DTFENet.features`
    and returns ``(loss, parts)`` with ``parts`` the unweighted terms as floats for logging.
    """

    def __init__(self, method: str, student: DTFENetConfig, teacher: DTFENetConfig | None,
                 gamma: float | None = None, beta: float | None = None, alpha: float = ALPHA):
        super().__init__()
        if method not in METHODS:
            raise AfkdError(f"distillation method {method!r}: choose one of {', '.join(METHODS)}")
        if method != "none":
            if teacher is None:
                raise AfkdError(f"distillation method {method}: needs a teacher")
            check_alignment(student, teacher)
            if method == "outputs" and student.lookahead_samples != teacher.lookahead_samples:
                raise AfkdError(f"distillation outputs: the teacher lags by {teacher.lookahead_samples} samples, "
                                f"the student by {student.lookahead_samples}; they must lag equally")
        self.method = method
        default_gamma, default_beta = DEFAULT_WEIGHTS[method]
        self.gamma = default_gamma if gamma is None else float(gamma)
        self.beta = default_beta if beta is None else float(beta)
        self.alpha = alpha
        # A student mask of frame t weights encoder frame t - lookahead (model docstring): pair
        # it with the teacher mask that weights the same encoder frame.
        self.mask_shift = student.lookahead - (teacher.lookahead if teacher is not None else 0)
        self.regressors = nn.ModuleDict()
        if method == "fitnet":
            for name in FEATURES:  # "enc_aa" -> path "aa" (a pruned student's paths may differ in N)
                path = name.split("_")[1]
                self.regressors[name] = nn.Conv1d(student.path_enc_channels(path), teacher.path_enc_channels(path), 1)

    def term(self, name: str, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        if student.shape[0] != teacher.shape[0] or student.shape[-1] != teacher.shape[-1]:
            raise AfkdError(f"distillation {name}: student {tuple(student.shape)} and teacher "
                            f"{tuple(teacher.shape)} differ in batch or frames")
        if self.method == "fitnet":
            return F.mse_loss(self.regressors[name](student), teacher)
        return attention_loss(student, teacher)

    def _aligned(self, name: str, student: torch.Tensor, teacher: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Crop the frames a lookahead shift leaves unpaired (masks only; encoders align as is)."""
        shift = self.mask_shift if name.startswith("mask") else 0
        if shift > 0:  # student mask t pairs with teacher mask t - shift
            return student[..., shift:], teacher[..., :-shift]
        if shift < 0:
            return student[..., :shift], teacher[..., -shift:]
        return student, teacher

    def forward(self, student_feats: dict[str, torch.Tensor],
                teacher_feats: dict[str, torch.Tensor] | None) -> tuple[torch.Tensor, dict[str, float]]:
        if self.method == "none":
            return student_feats["aa"].new_zeros(()), {}
        if self.method == "outputs":
            from afkd.training.losses import nmse_per_segment

            terms = {name: nmse_per_segment(teacher_feats[name].detach(), student_feats[name]).sum() for name in ("aa", "va")}
            loss = self.gamma * (terms["aa"] + self.alpha * terms["va"])
            return loss, {f"kd_{name}": float(value.detach()) for name, value in terms.items()}
        terms = {name: self.term(name, *self._aligned(name, student_feats[name], teacher_feats[name].detach()))
                 for name in FEATURES}
        enc = terms["enc_aa"] + self.alpha * terms["enc_va"]
        mask = terms["mask_aa"] + self.alpha * terms["mask_va"]
        loss = self.gamma * enc + self.beta * mask
        parts = {f"kd_{name}": float(value.detach()) for name, value in terms.items()}
        return loss, parts
