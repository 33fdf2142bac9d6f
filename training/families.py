"""Model families: a checkpoint's ``family`` names the config class and the model class.

A family also names the task that trains it (:mod:`afkd.training.tasks`): the f-wave
separator, the rhythm detectors (compact and dense reference share one task) and the beat
classifier. Checkpoints written before families existed have no ``family`` field and are
DT-FENets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from afkd.training.model import DTFENet, DTFENetConfig
from afkd.training.model_beat import BeatCNN, BeatCNNConfig
from afkd.training.model_detector import RhythmTCN, RhythmTCNConfig
from afkd.training.model_resnet import ResNet34, ResNet34Config

DEFAULT_FAMILY = "dtfenet"  # what a checkpoint without a family field holds


@dataclass(frozen=True)
class Family:
    name: str
    config_class: type
    model_class: type
    task: str  # separation | rhythm | beats
    summary: str


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("dtfenet", DTFENetConfig, DTFENet, "separation", "DT-FENet f-wave separator"),
    Family("rhythm_tcn", RhythmTCNConfig, RhythmTCN, "rhythm", "compact causal rhythm detector (streams)"),
    Family("resnet34", ResNet34Config, ResNet34, "rhythm", "Hannun et al. 34-layer residual CNN (dense reference)"),
    Family("beat_cnn", BeatCNNConfig, BeatCNN, "beats", "beat-window CNN, five AAMI classes"),
)}


def family_of(model_or_config: Any) -> Family:
    """The family of a model or a config instance; ValueError for anything else."""
    for family in FAMILIES.values():
        if isinstance(model_or_config, (family.model_class, family.config_class)):
            return family
    raise ValueError(f"{type(model_or_config).__name__} is not a model family afkd knows")


def get_family(name: str | None) -> Family:
    name = DEFAULT_FAMILY if name is None else name
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r} (known: {', '.join(FAMILIES)})")
    return FAMILIES[name]


def build_model(family: str | None, config: dict[str, Any]) -> nn.Module:
    """A fresh model of ``family`` from a config dict (ValueError/TypeError on a bad config)."""
    fam = get_family(family)
    return fam.model_class(fam.config_class.from_dict(config))
