"""One-call entry points for scripts and the demo: train a model, distill a student.

    best = train_model("teacher", "data/train", "runs/teacher", epochs=80)
    student = distill_student(best, "fitnet", "data/train", "runs/student_fitnet", epochs=80)
    results = evaluate([student, "abs"], "data/test")          # afkd.training.evaluate

Both return the path of the run's ``best.pt`` (best validation SNR_AA).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from afkd.errors import AfkdError
from afkd.training.families import FAMILIES, family_of, get_family
from afkd.training.model import STUDENT, TEACHER, DTFENetConfig
from afkd.training.model_beat import BEAT_CNN
from afkd.training.model_detector import COMPACT_DETECTOR
from afkd.training.model_resnet import HANNUN_34, HANNUN_34_NARROW
from afkd.training.trainer import TrainSettings, fit

# Named model configs: the f-wave teacher and student, the rhythm detectors, the beat CNN.
PRESETS = {"teacher": TEACHER, "student": STUDENT, "detector": COMPACT_DETECTOR,
           "resnet34": HANNUN_34, "resnet34-narrow": HANNUN_34_NARROW, "beat-cnn": BEAT_CNN}
# The preset a task trains when none is named.
TASK_PRESETS = {"separation": "teacher", "rhythm": "detector", "beats": "beat-cnn"}
CONFIG_TYPES = tuple(f.config_class for f in FAMILIES.values())


def resolve_config(config: Any = "student", overrides: dict[str, Any] | None = None):
    """A config from a preset name, a dict, a JSON file path or a JSON string, then overrides.

    A dict is a DT-FENet config unless it names another family (``"family": "rhythm_tcn"``).
    ``overrides`` are config field names; None values are ignored, a field the config's family
    does not have is an error.
    """
    if config is None:
        config = "student"
    if isinstance(config, str):
        if config in PRESETS:
            config = PRESETS[config]
        else:
            is_file = os.path.isfile(config)  # False, not an error, for a JSON object too long for a name
            try:
                config = json.loads(Path(config).read_text(encoding="utf-8") if is_file else config)
            except ValueError:
                raise AfkdError(f"model config {config!r}: not a preset ({', '.join(PRESETS)}), "
                                "a JSON file or a JSON object") from None
    if isinstance(config, dict):
        config = dict(config)
        try:
            config = get_family(config.pop("family", None)).config_class.from_dict(config)
        except (TypeError, ValueError) as err:
            raise AfkdError(f"model config: {err}") from None
    if not isinstance(config, CONFIG_TYPES):
        raise AfkdError(f"model config: unsupported type {type(config).__name__}")
    changes = {k: v for k, v in (overrides or {}).items() if v is not None}
    known = set(type(config).__dataclass_fields__)
    foreign = sorted(k for k in changes if k not in known)
    if foreign:
        raise AfkdError(f"model config: {', '.join('--' + k.replace('_', '-') for k in foreign)} does not apply "
                        f"to a {family_of(config).name} ({family_of(config).summary})")
    try:
        return replace(config, **changes)
    except (TypeError, ValueError) as err:
        raise AfkdError(f"model config overrides: {err}") from None


def _role(config: DTFENetConfig | str | dict | None) -> str:
    return config if isinstance(config, str) and config in PRESETS else "model"


def train_model(config: DTFENetConfig | str | dict | None, data_dir: str | os.PathLike,
                out_dir: str | os.PathLike, epochs: int = 10, steps_per_epoch: int | None = None,
                batch_size: int = 2, crop_seconds: float | None = None, seed: int = 0,
                val_dir: str | os.PathLike | None = None, resume: str | os.PathLike | None = None,
                role: str | None = None, task: str | None = None, **settings: Any) -> Path:
    """Train a model from scratch (no distillation); returns ``out_dir/best.pt``.

    ``config``: a preset name (``teacher``, ``student``, ``detector``, ``resnet34``,
    ``resnet34-narrow``, ``beat-cnn``), a config of any family, a dict or JSON. ``task``
    defaults to the family's (separation, rhythm, beats).
    Further keyword arguments are :class:`TrainSettings` fields (lr, threads, progress, ...).
    """
    cfg = resolve_config(config)
    train = TrainSettings(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size,
                          crop_seconds=crop_seconds, seed=seed, method="none", **settings)
    return fit(cfg, train, data_dir, out_dir, val_dir=val_dir, resume=resume, role=role or _role(config), task=task)


def distill_student(teacher_ckpt: str | os.PathLike, method: str, data_dir: str | os.PathLike,
                    out_dir: str | os.PathLike, student: DTFENetConfig | str | dict | None = "student",
                    epochs: int = 10, steps_per_epoch: int | None = None, batch_size: int = 2,
                    crop_seconds: float | None = None, seed: int = 0,
                    val_dir: str | os.PathLike | None = None, resume: str | os.PathLike | None = None,
                    **settings: Any) -> Path:
    """Train a student with task loss + ``method`` KD loss (fitnet, at, none); returns best.pt.

    ``method="none"`` trains the student alone (the no-KD baseline); the teacher is then
    only recorded in the log.
    """
    cfg = resolve_config(student)
    train = TrainSettings(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size,
                          crop_seconds=crop_seconds, seed=seed, method=method, **settings)
    return fit(cfg, train, data_dir, out_dir, val_dir=val_dir, teacher_path=teacher_ckpt,
               resume=resume, role="student")
