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
from afkd.training.model import STUDENT, TEACHER, DTFENetConfig
from afkd.training.trainer import TrainSettings, fit

PRESETS = {"teacher": TEACHER, "student": STUDENT}


def resolve_config(config: DTFENetConfig | str | dict | None = "student",
                   overrides: dict[str, Any] | None = None) -> DTFENetConfig:
    """A config from a preset name, a dict, a JSON file path or a JSON string, then overrides.

    ``overrides`` are DTFENetConfig field names; None values are ignored.
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
        try:
            config = DTFENetConfig.from_dict(config)
        except (TypeError, ValueError) as err:
            raise AfkdError(f"model config: {err}") from None
    if not isinstance(config, DTFENetConfig):
        raise AfkdError(f"model config: unsupported type {type(config).__name__}")
    changes = {k: v for k, v in (overrides or {}).items() if v is not None}
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
                role: str | None = None, **settings: Any) -> Path:
    """Train a DT-FENet from scratch (task loss only); returns ``out_dir/best.pt``.

    ``config``: a preset name (``teacher``/``student``), a DTFENetConfig, a dict or JSON.
    Further keyword arguments are :class:`TrainSettings` fields (lr, threads, progress, ...).
    """
    cfg = resolve_config(config)
    train = TrainSettings(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size,
                          crop_seconds=crop_seconds, seed=seed, method="none", **settings)
    return fit(cfg, train, data_dir, out_dir, val_dir=val_dir, resume=resume, role=role or _role(config))


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
