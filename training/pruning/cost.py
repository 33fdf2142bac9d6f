"""Size and cost of any nn.Module: parameters (all, and non-zero) and multiply-accumulates.

MACs are counted with forward hooks on one example input, for every convolution, transposed
convolution and linear layer (what dominates; element-wise ops are left out, as is usual):
``dense`` as the layers are shaped, ``nonzero`` with each layer's MACs scaled by its share of
non-zero weights (what a sparse kernel could skip).
"""

from __future__ import annotations

import torch
from torch import nn

from afkd.training.pruning.masks import PRUNABLE


def _layer_macs(module: nn.Module, inputs, output) -> int:
    x = inputs[0]
    if isinstance(module, nn.Linear):
        return (output.numel() // module.out_features) * module.in_features * module.out_features
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
        per_input = module.out_channels // module.groups * int(torch.tensor(module.kernel_size).prod())
        return x.numel() * per_input
    per_output = module.in_channels // module.groups * int(torch.tensor(module.kernel_size).prod())
    return output.numel() * per_output


@torch.no_grad()
def model_cost(model: nn.Module, example: torch.Tensor) -> dict:
    """``{"params", "nonzero_params", "macs", "nonzero_macs"}`` for one forward of ``example`` (batch 1)."""
    totals = {"macs": 0, "nonzero_macs": 0.0}

    def hook(module, inputs, output):
        macs = _layer_macs(module, inputs, output)
        density = float((module.weight != 0).float().mean())
        totals["macs"] += macs
        totals["nonzero_macs"] += macs * density

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, PRUNABLE)]
    was_training = model.training
    model.eval()
    try:
        model(example)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return {"params": sum(p.numel() for p in model.parameters()),
            "nonzero_params": sum(int((p != 0).sum()) for p in model.parameters()),
            "macs": int(totals["macs"]), "nonzero_macs": int(round(totals["nonzero_macs"]))}
