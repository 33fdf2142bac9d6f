"""Self-describing checkpoints: config + weights, loaded without unpickling objects.

Layout (a plain dict saved with ``torch.save``)::

    {"format": "afkd-checkpoint", "version": 1,
     "family": "dtfenet" | "rhythm_tcn" | "resnet34" | "beat_cnn",
     "config": <the family's config>.to_dict(), "state_dict": {name: tensor},
     "meta": {plain JSON-able values: role, epoch, metrics, training args, ...}}

``family`` (:mod:`afkd.training.families`) says which config and model class rebuild it; a
checkpoint without it (written before the classifiers existed) is a DT-FENet.

``torch.load(weights_only=True)`` refuses anything but tensors and plain containers, so a
hostile or foreign file cannot run code; everything else we check here and report as an
:class:`AfkdError` naming the file.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

from afkd.atomic import atomic_write_bytes
from afkd.errors import AfkdError
from afkd.training.families import build_model, family_of, get_family

FORMAT = "afkd-checkpoint"
VERSION = 1


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, meta: dict[str, Any] | None = None) -> None:
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "family": family_of(model).name,
        "config": model.cfg.to_dict(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The raw checkpoint dict, validated; raises AfkdError naming the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise AfkdError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for truncated or foreign files
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise AfkdError(f"{path}: not a readable afkd checkpoint ({first[:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise AfkdError(f"{path}: not an afkd checkpoint (no 'format: {FORMAT}' field)")
    if payload.get("version") != VERSION:
        raise AfkdError(f"{path}: checkpoint version {payload.get('version')!r}, this afkd reads {VERSION}")
    for key in ("config", "state_dict"):
        if not isinstance(payload.get(key), dict):
            raise AfkdError(f"{path}: checkpoint has no {key}")
    if not isinstance(payload.get("meta") or {}, dict):
        raise AfkdError(f"{path}: checkpoint meta is a {type(payload['meta']).__name__}, not a mapping")
    for name, value in payload["state_dict"].items():
        # One NaN weight makes every output NaN; a model must not get as far as an export.
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not torch.isfinite(value).all():
            bad = int((~torch.isfinite(value)).sum())
            raise AfkdError(f"{path}: weight {name} holds {bad} NaN/infinite value{'s' if bad > 1 else ''}")
    return payload


def checkpoint_family(payload: dict[str, Any], path: str | os.PathLike) -> str:
    """The family name of a checkpoint dict (``dtfenet`` when it predates families)."""
    family = payload.get("family")
    try:
        return get_family(family).name
    except ValueError as err:
        raise AfkdError(f"{path}: {err}") from None


def load_checkpoint(path: str | os.PathLike) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the model of the checkpoint's family from its config, load its weights (eval mode).

    Returns (model, meta); ``model.cfg`` is its config. Callers that need one family check
    ``afkd.training.families.family_of(model)``.
    """
    payload = read_checkpoint(path)
    family = checkpoint_family(payload, path)
    try:
        model = build_model(family, payload["config"])
    except (TypeError, ValueError) as err:
        raise AfkdError(f"{path}: bad model config ({err})") from None
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as err:
        detail = " ".join(str(err).split())[:300]
        raise AfkdError(f"{path}: weights do not match the config ({detail})") from None
    model.eval()
    return model, dict(payload.get("meta") or {})
