"""DT-FENet's prunable channel groups, and the smaller dense DT-FENet that removing channels gives.

A *channel group* is a set of channels that can only go together: removing channel c of a
group removes every weight that reads or writes it, so the result is a dense model with one
channel fewer (:func:`rebuild`), not a model with zeros. DT-FENet has three kinds per path:

- ``<path>.enc`` (N): an encoder basis function. Its weights: the encoder's row, the
  bottleneck's column, the mask head's output row (self and cross), the decoder's row.
  Removing it zeroes the encoder output channel (and so the masked channel the decoder reads).
- ``<path>.res`` (B): a residual channel of the TCN, shared by every block of the path: the
  bottleneck's row, each block's ``in_conv`` column and ``out_conv`` row, this path's
  ``self_conv`` column and the *other* path's ``cross_conv`` column. Removing it zeroes that
  residual channel everywhere (the bottleneck's output and every block's contribution).
- ``<path>.block<i>`` (H of block i): ``in_conv`` row, both norms, the depthwise channel,
  ``out_conv`` column. Removing it zeroes that channel at the second PReLU's output.

Each group names the *gate points* where its channels can be switched off (module outputs, a
gate vector multiplied along dim 1); :mod:`afkd.training.pruning.structured` uses them to
measure importance. The new config carries the per-path and per-block widths
(``DTFENetConfig.enc_channels_per_path`` etc.), so ONNX, TFLite and the generated C are
simply smaller.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from afkd.training.model import DTFENet

PATHS = ("aa", "va")


@dataclass(frozen=True)
class ChannelGroup:
    name: str  # e.g. "aa.res", "va.block3"
    size: int  # channels now
    gates: tuple[nn.Module, ...]  # modules whose output channel c (dim 1) is this group's channel c
    # (state-dict key, dim) of every tensor indexed by this group's channels, or (key, dim, repeat)
    # where each channel owns `repeat` consecutive indices of that dim (BeatCNN's flatten)
    slices: tuple[tuple, ...]


def kept_state(model: nn.Module, groups: list[ChannelGroup], keep: dict[str, list[int]]
               ) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """The state dict with only the kept channels of each group in ``keep`` (group name ->
    channel indices; other groups keep all), and every group's width after it: what a family's
    ``rebuild`` loads into its smaller config. Refuses unknown groups and bad channel lists."""
    by_name = {g.name: g for g in groups}
    unknown = set(keep) - set(by_name)
    if unknown:
        raise ValueError(f"unknown channel groups {sorted(unknown)}")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    for name, kept in keep.items():
        index = torch.as_tensor(sorted(kept), dtype=torch.long)
        if index.numel() == 0 or int(index.max()) >= by_name[name].size or len(set(kept)) != len(kept):
            raise ValueError(f"group {name}: bad channel list (size {by_name[name].size}, keep {list(kept)[:8]}...)")
        for key, dim, *repeat in by_name[name].slices:
            step = repeat[0] if repeat else 1
            rows = index if step == 1 else (index[:, None] * step + torch.arange(step)[None, :]).reshape(-1)
            state[key] = state[key].index_select(dim, rows)
    widths = {n: len(keep.get(n, range(g.size))) for n, g in by_name.items()}
    return state, widths


def _norm_keys(prefix: str, norm: nn.Module) -> list[tuple[str, int]]:
    """BatchNorm (C,) tensors, or a global layer norm's (1, C, 1) weight and bias."""
    if isinstance(norm, nn.BatchNorm1d):
        return [(f"{prefix}.{k}", 0) for k in ("weight", "bias", "running_mean", "running_var")]
    if isinstance(norm, nn.Identity):
        return []
    return [(f"{prefix}.weight", 1), (f"{prefix}.bias", 1)]


def channel_groups(model: DTFENet) -> list[ChannelGroup]:
    cfg = model.cfg
    groups = []
    for path, other in (("aa", "va"), ("va", "aa")):
        tcn, head, other_head = getattr(model, f"tcn_{path}"), getattr(model, f"mask_{path}"), getattr(model, f"mask_{other}")
        enc = [(f"encoder_{path}.weight", 0), (f"tcn_{path}.bottleneck.weight", 1),
               (f"mask_{path}.self_conv.weight", 0), (f"mask_{path}.self_conv.bias", 0),
               (f"decoder_{path}.weight", 0)]
        if head.cross_conv is not None:
            enc.append((f"mask_{path}.cross_conv.weight", 0))
        groups.append(ChannelGroup(f"{path}.enc", cfg.path_enc_channels(path), (getattr(model, f"encoder_{path}"),), tuple(enc)))
        res = [(f"tcn_{path}.bottleneck.weight", 0), (f"tcn_{path}.bottleneck.bias", 0),
               (f"mask_{path}.self_conv.weight", 1)]
        if other_head.cross_conv is not None:
            res.append((f"mask_{other}.cross_conv.weight", 1))
        for i, block in enumerate(tcn.blocks):
            p = f"tcn_{path}.blocks.{i}"
            res += [(f"{p}.in_conv.weight", 1), (f"{p}.out_conv.weight", 0), (f"{p}.out_conv.bias", 0)]
            hidden = [(f"{p}.in_conv.weight", 0), (f"{p}.in_conv.bias", 0), (f"{p}.depthwise.weight", 0),
                      (f"{p}.depthwise.bias", 0), (f"{p}.out_conv.weight", 1)]
            hidden += _norm_keys(f"{p}.norm1", block.norm1) + _norm_keys(f"{p}.norm2", block.norm2)
            groups.append(ChannelGroup(f"{path}.block{i}", cfg.block_hidden(path, i), (block.act2,), tuple(hidden)))
        res_gates = (tcn.bottleneck,) + tuple(b.out_conv for b in tcn.blocks)
        groups.append(ChannelGroup(f"{path}.res", cfg.path_bottleneck(path), res_gates, tuple(res)))
    return groups


def widths(model: DTFENet) -> dict[str, int]:
    return {g.name: g.size for g in channel_groups(model)}


def config_with_widths(cfg, new: dict[str, int]):
    """The config whose groups have the widths ``new`` (group name -> channels)."""
    blocks = len(cfg.dilations)
    return dataclasses.replace(
        cfg,
        enc_channels_per_path=tuple(new[f"{p}.enc"] for p in PATHS),
        bottleneck_per_path=tuple(new[f"{p}.res"] for p in PATHS),
        hidden_per_block=tuple(new[f"{p}.block{i}"] for p in PATHS for i in range(blocks)),
    )


@torch.no_grad()
def rebuild(model: DTFENet, keep: dict[str, list[int]]) -> DTFENet:
    """A dense DT-FENet with only the kept channels (group name -> sorted channel indices).

    Groups not in ``keep`` keep every channel. The result computes exactly what ``model``
    computes with the removed channels' gates at zero (up to float rounding).
    """
    state, new_widths = kept_state(model, channel_groups(model), keep)
    smaller = DTFENet(config_with_widths(model.cfg, new_widths))
    smaller.load_state_dict(state, strict=True)
    return smaller.train(model.training)


def parameter_count(cfg) -> int:
    """count_parameters(DTFENet(cfg)) without building the model (the pruning search asks often)."""
    L, P = cfg.enc_kernel, cfg.kernel
    norm = {"batch": 2, "gln": 2, "none": 0}[cfg.norm]  # learned parameters per channel
    total = 0
    for path, other in (("aa", "va"), ("va", "aa")):
        N, B = cfg.path_enc_channels(path), cfg.path_bottleneck(path)
        total += N * L + N * B + B + 1  # encoder, bottleneck (+bias), the TCN's output PReLU
        for i in range(len(cfg.dilations)):
            H = cfg.block_hidden(path, i)
            total += (B * H + H) + H * P + H + (H * B + B) + 2 * norm * H + 2  # in, depthwise, out, norms, PReLUs
        total += B * N + N + (cfg.path_bottleneck(other) * N if cfg.interaction else 0)  # mask head
        total += N * L  # decoder
    return total
