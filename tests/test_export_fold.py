"""BatchNorm folding: the folded model computes what the unfolded one computes."""

import dataclasses

import pytest
import torch

from afkd.errors import AfkdError
from afkd.export.fold import fold_batchnorm
from afkd.training.model import DTFENet, DTFENetConfig

TINY = DTFENetConfig(enc_channels=8, bottleneck=8, hidden=12, blocks=2)


def randomize_batchnorm(model: DTFENet, seed: int = 0) -> DTFENet:
    """Non-trivial running statistics and affine terms, so that folding has work to do."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) * 2 + 0.2)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=g) - 0.5)
    return model.eval()


@pytest.mark.parametrize("causal", [True, False])
def test_folded_model_equals_unfolded(causal):
    torch.manual_seed(1)
    model = randomize_batchnorm(DTFENet(dataclasses.replace(TINY, causal=causal)))
    folded = fold_batchnorm(model)
    assert folded.cfg.norm == "none"
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in folded.modules())
    x = torch.randn(3, 730)
    with torch.no_grad():
        for want, got in zip(model(x), folded(x)):
            assert torch.allclose(want, got, atol=1e-5, rtol=1e-4)


def test_folding_changes_the_weights_it_should():
    model = randomize_batchnorm(DTFENet(TINY))
    folded = fold_batchnorm(model)
    before, after = model.state_dict(), folded.state_dict()
    assert not torch.equal(before["tcn_aa.blocks.0.in_conv.weight"], after["tcn_aa.blocks.0.in_conv.weight"])
    assert torch.equal(before["encoder_aa.weight"], after["encoder_aa.weight"])


def test_global_layer_norm_does_not_fold():
    with pytest.raises(AfkdError, match="gln"):
        fold_batchnorm(DTFENet(dataclasses.replace(TINY, norm="gln")))
