"""Validate a classifier firmware (rhythm detector or beat CNN): run it, compare with TFLM and
PyTorch, answer per record / window.

Detector: each record (whole, quantized with the model's input parameters) is streamed hop by
hop (RESET, SAMPLES..., RESULT). The same integers, zero-padded to the graph's fixed length,
go through TFLM once: the detector is causal, so its first floor(n / hop) frames are the
record's, and the firmware's frame logits must equal them bit for bit (streaming == one-shot),
its running sums and decision too. Beat CNN: each window is one SAMPLES hop; its logits must
equal TFLM's. The float PyTorch model sees the millivolts; its decision is compared, and so is
the label where the data has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from afkd.decisions import record_decision
from afkd.errors import AfkdError
from afkd.host_tools import compare
from afkd.host_tools.runners import open_runner


@dataclass
class ClassifierValidator:
    build: Any  # validate.FirmwareBuild
    torch_model: Any  # the checkpoint's model or None

    def __post_init__(self) -> None:
        m, q = self.build.manifest, self.build.quant
        self.kind = m["kind"]
        self.classes = list(m["classes"])
        self.dtype = np.dtype(q["input"]["dtype"])
        self.in_scale, self.in_zp = float(q["input"]["scale"]), int(q["input"]["zero_point"])
        out = q["outputs"]["logits"]
        self.out_scale, self.out_zp = float(out["scale"]), int(out["zero_point"])
        self.length = int(m["input"]["shape"][2])  # the graph's input samples
        self.hop = int(m["hop"]) if self.kind == "detector" else self.length
        self.fs = int(m["fs"])

    def quantize(self, mv: np.ndarray) -> np.ndarray:
        from afkd.export.checks import quantize

        return quantize(mv, self.in_scale, self.in_zp, self.dtype)

    def torch_logits(self, mv: np.ndarray) -> np.ndarray | None:
        """(frames, classes) for a detector, (1, classes) for a window; None without a checkpoint."""
        if self.torch_model is None:
            return None
        import torch

        with torch.no_grad():
            logits = self.torch_model(torch.from_numpy(mv.astype(np.float32))[None])[0].numpy()
        return logits.T if self.kind == "detector" else logits.reshape(1, -1)


def run_items(v: ClassifierValidator, runner_spec: str, items: list, *, timeout_s: float = 20.0,
              progress=None) -> dict[str, Any]:
    """Stream every item through the firmware; TFLM and PyTorch on the same inputs."""
    from afkd.export.checks import run_tflm

    firmware, results, counts, inputs, kept = [], [], [], [], []
    with open_runner(runner_spec, v.build.firmware, timeout_s=timeout_s) as runner:
        info = runner.info()
        expected = str(v.build.fw.get("tflite_sha256", ""))[:16]
        if expected and info.model_hash != expected:
            raise AfkdError(f"{v.build.firmware}: the firmware runs model {info.model_hash}, but the build's "
                            f"{v.build.fw['tflite']} is {expected}: it was built from another model (rebuild it, "
                            "or re-export)")
        if info.model_kind != v.kind or info.hop != v.hop or info.values_per_hop != len(v.classes):
            raise AfkdError(f"{v.build.firmware}: the firmware is a {info.model_kind} of hop {info.hop} with "
                            f"{info.values_per_hop} outputs; export.json says a {v.kind} of hop {v.hop} with "
                            f"{len(v.classes)} classes")
        for item in items:
            n = (item.ecg.size // v.hop) * v.hop
            if n == 0:
                continue
            if n > v.length:
                raise AfkdError(f"record {item.id}: {n / v.fs:g} s is longer than the exported graph's "
                                f"{v.length / v.fs:g} s (export with a larger --seconds)")
            q = v.quantize(item.ecg[:n])
            runner.reset()
            values, c = runner.run_values(q)
            firmware.append(values)
            results.append(runner.result() if v.kind == "detector" else None)
            counts.append(c)
            inputs.append(q)
            kept.append(item)
            if progress:
                progress(len(kept))
    if not kept:
        raise AfkdError("no record long enough to classify (need at least one hop)")
    padded = []
    for q in inputs:
        x = np.full(v.length, v.in_zp, dtype=v.dtype)
        x[: q.size] = q
        padded.append(x.reshape(1, 1, -1, 1))
    classes = len(v.classes)
    tflm = [np.asarray(out[0]).reshape(-1, classes)[: fw.shape[0]]
            for out, fw in zip(run_tflm(v.build.tflite, padded, 1), firmware)]
    rows, streamed, one_shot = [], [], []
    for item, q, fw, ref, result in zip(kept, inputs, firmware, tflm, results):
        torch_logits = v.torch_logits(item.ecg[: q.size])
        row = {"id": item.id, "label": item.label, "samples": int(q.size), "frames": int(fw.shape[0]),
               "firmware": v.classes[record_decision(fw)], "tflite": v.classes[record_decision(ref)],
               "torch": None if torch_logits is None else v.classes[record_decision(torch_logits)]}
        if result is not None:  # the detector's own running answer (RESULT), beside its frames
            row["firmware"] = v.classes[result.decision]
            streamed.append({"logits": fw, "sums": result.sums.astype(np.int64),
                             "frames": np.array([result.frames])})
            one_shot.append({"logits": ref, "sums": ref.astype(np.int64).sum(axis=0),
                             "frames": np.array([ref.shape[0]])})
        rows.append(row)
    return {"info": info, "rows": rows, "inputs": inputs, "padded": padded, "counts": np.concatenate(counts),
            "firmware": [{"logits": f} for f in firmware], "reference": [{"logits": r} for r in tflm],
            "streamed": streamed, "one_shot": one_shot, "ids": [r["id"] for r in rows]}


def f1_scores(truth: list[str], predicted: list[str], classes: list[str]) -> dict[str, float | None]:
    """F1 per class (None for a class neither side has)."""
    out = {}
    for c in classes:
        tp = sum(t == c and p == c for t, p in zip(truth, predicted))
        fp = sum(t != c and p == c for t, p in zip(truth, predicted))
        fn = sum(t == c and p != c for t, p in zip(truth, predicted))
        out[c] = None if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
    return out


def classification_summary(rows: list[dict], classes: list[str], kind: str) -> dict[str, Any]:
    """Agreement of the firmware's decisions with TFLite's and PyTorch's, and with the labels."""
    n = len(rows)
    with_torch = [r for r in rows if r["torch"] is not None]
    labelled = [r for r in rows if r["label"] in classes]
    summary = {
        "items": n, "unit": "record" if kind == "detector" else "window",
        "agreement_tflite": sum(r["firmware"] == r["tflite"] for r in rows) / n,
        "disagreeing_with_tflite": [r["id"] for r in rows if r["firmware"] != r["tflite"]],
        "agreement_torch": (sum(r["firmware"] == r["torch"] for r in with_torch) / len(with_torch)) if with_torch else None,
        "labelled": len(labelled), "accuracy": None, "f1": None, "challenge_score": None,
        "confusion": None,
    }
    if labelled:
        truth, predicted = [r["label"] for r in labelled], [r["firmware"] for r in labelled]
        summary["accuracy"] = sum(t == p for t, p in zip(truth, predicted)) / len(labelled)
        summary["f1"] = f1_scores(truth, predicted, classes)
        summary["confusion"] = {t: {p: sum(a == t and b == p for a, b in zip(truth, predicted)) for p in classes}
                                for t in classes}
        if kind == "detector" and {"N", "A", "O"} <= set(classes):
            f1 = summary["f1"]
            # CinC 2017's score: the mean F1 of N, A and O (a class absent from both sides counts 0)
            summary["challenge_score"] = sum(f1[c] or 0.0 for c in ("N", "A", "O")) / 3
    return summary


def compare_runs(run: dict) -> tuple[Any, Any]:
    """(firmware vs TFLM, bit for bit; streaming == one-shot for a detector, else None)."""
    exact = compare.compare_exact(run["firmware"], run["reference"], run["ids"])
    streaming = (compare.compare_streaming(run["streamed"], run["one_shot"], run["ids"])
                 if run["streamed"] else None)
    return exact, streaming
