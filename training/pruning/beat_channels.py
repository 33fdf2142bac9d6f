"""BeatCNN's prunable filter groups, and the smaller dense BeatCNN that removing filters gives.

The multistage-pruning paper (Li et al., 2021) removes whole filters of the heartbeat CNN.
Here a *group* is one layer's output units, removed together with every weight that reads
or writes them, so the result is a dense :class:`~afkd.training.model_beat.BeatCNN` with a
smaller config (:func:`rebuild`), never a model with zero filters:

- ``conv<k>`` (filters of conv stage k): the conv's output row and bias, the BatchNorm's
  four vectors, and the next conv's input column; for the last stage the dense layer's input
  columns ``c * T .. c * T + T - 1`` (flatten orders (channel, time), T = time steps left).
  Gate point: the BatchNorm's output (zeroing it zeroes the channel after ReLU and pooling).
- ``dense`` (hidden units): the hidden layer's row and bias, the output layer's column.
  Gate point: the hidden layer's output (before ReLU).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from afkd.training.model_beat import BeatCNN, beat_macs
from afkd.training.pruning.dtfenet_channels import ChannelGroup, kept_state


def _slices(model: BeatCNN, k: int) -> tuple:
    """(state-dict key, dim, repeat) of the tensors indexed by conv stage k's filters.

    Unlike DT-FENet's (key, dim) pairs, a BeatCNN slice has a ``repeat``: how many consecutive
    indices of that dim one channel owns (the flatten before the dense layer); only
    :func:`~afkd.training.pruning.dtfenet_channels.kept_state` reads slices.
    """
    keys = [(f"convs.{k}.weight", 0, 1), (f"convs.{k}.bias", 0, 1)]
    keys += [(f"norms.{k}.{name}", 0, 1) for name in ("weight", "bias", "running_mean", "running_var")]
    if k + 1 < len(model.convs):
        keys.append((f"convs.{k + 1}.weight", 1, 1))
    else:  # flatten: channel c owns T consecutive inputs of the dense layer
        keys.append(("hidden.weight", 1, model.cfg.window // model.cfg.pool ** len(model.convs)))
    return tuple(keys)


def channel_groups(model: BeatCNN) -> list[ChannelGroup]:
    groups = [ChannelGroup(f"conv{k}", conv.out_channels, (model.norms[k],), _slices(model, k))
              for k, conv in enumerate(model.convs)]
    dense = (("hidden.weight", 0, 1), ("hidden.bias", 0, 1), ("out.weight", 1, 1))
    groups.append(ChannelGroup("dense", model.cfg.dense, (model.hidden,), dense))
    return groups


def config_with_widths(cfg, widths: dict[str, int]):
    channels = tuple(widths.get(f"conv{k}", c) for k, c in enumerate(cfg.channels))
    return dataclasses.replace(cfg, channels=channels, dense=widths.get("dense", cfg.dense))


def parameter_count(cfg) -> int:
    """count_parameters(BeatCNN(cfg)) without building it (the selection asks often)."""
    total, previous = 0, 1
    for out, k in zip(cfg.channels, cfg.kernels):
        total += previous * out * k + out + 2 * out  # conv + bias, BatchNorm weight and bias
        previous = out
    return total + cfg.flat_features * cfg.dense + cfg.dense + cfg.dense * len(cfg.classes) + len(cfg.classes)


@torch.no_grad()
def rebuild(model: BeatCNN, keep: dict[str, list[int]]) -> BeatCNN:
    """A dense BeatCNN with only the kept filters/units (group name -> channel indices).

    Groups not in ``keep`` keep everything. In eval mode the result computes what ``model``
    computes with the removed channels' gates at zero (up to float rounding).
    """
    state, widths = kept_state(model, channel_groups(model), keep)
    smaller = BeatCNN(config_with_widths(model.cfg, widths))
    smaller.load_state_dict(state, strict=True)
    return smaller.train(model.training)


class BeatCNNStructure:
    """:class:`afkd.training.pruning.structured.Structure` for BeatCNN."""

    @staticmethod
    def channel_groups(model: nn.Module):
        return channel_groups(model)

    @staticmethod
    def rebuild(model: nn.Module, keep):
        return rebuild(model, keep)

    @staticmethod
    def parameter_count(model: nn.Module, widths):
        return parameter_count(config_with_widths(model.cfg, widths))

    @staticmethod
    def mac_count(model: nn.Module, widths):
        """MACs per beat window (what ``model_cost`` measures on one window)."""
        return beat_macs(config_with_widths(model.cfg, widths))
