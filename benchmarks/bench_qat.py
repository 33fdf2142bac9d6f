"""Post-training quantization against quantization-aware training, both TFLite modes: a printed table.

    python -m benchmarks.bench_qat [--ptq models/af_only/student_fitnet.pt] \
        [--qat int8=models/student_fitnet_qat_int8.pt] [--qat int16x8=...] [--segments 200]

For each mode, the PTQ row exports the float checkpoint as it is and the QAT row exports the
checkpoint trained with ``--qat MODE`` (both with the bench's calibration: 16 windows of 30 s
of the synthetic training distribution, the set ``bench_export`` uses and the QAT runs named
with ``--qat-calibration``). Columns:

- AA SNR vs float: the quantized model (TFLite reference kernels) against the PyTorch float of
  *the same checkpoint* on the export's 4 validation windows (``bench_export``'s figure);
- AA SNR vs the PTQ float: against the float model the PTQ row starts from, which is what a user
  of the float student would compare with;
- SNR_AA vs truth: the quantized model on the synthetic validation set (seed 2, ``--segments``
  windows of 30 s, output aligned with the truth it estimates over the samples the lookahead
  leaves), with the float checkpoint's figure on the same samples beside it.

A second table is the int8 *noise budget* of the PTQ model: the AA SNR against float of the
fake-quantized graph (``afkd.training.fake_quant``, which reproduces the converter's ranges and
rounding) when only one group of tensors is rounded, the rest kept float. It shows where the
int8 error comes from, and how far any training that keeps these ranges can go.

Writes ``build/bench/qat_table.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.bench_models import synthetic_validation

REPO = Path(__file__).resolve().parents[1]


def tflite_outputs(model_bytes: bytes, windows: list[np.ndarray]) -> list[np.ndarray]:
    """The quantized model's AA output (mV) for each window (TFLite reference kernels)."""
    from afkd.export import checks

    it = checks.interpreter(model_bytes, reference=True)
    io = checks.io_quantization(it)
    pos = checks.output_order(it, ("aa", "va"))[0]
    out = io["outputs"][pos]
    result = []
    for x in windows:
        q = checks.quantize(x, io["input"]["scale"], io["input"]["zero_point"], np.dtype(io["input"]["dtype"]))
        raw = checks.run_tflite(it, q.reshape(io["input"]["shape"]))
        result.append(checks.dequantize(raw[pos], out["scale"], out["zero_point"]).reshape(-1))
    return result


def float_outputs(checkpoint: Path, windows: list[np.ndarray]) -> list[np.ndarray]:
    from afkd.export.tflite_export import torch_outputs
    from afkd.training.checkpoint import load_checkpoint

    model, _ = load_checkpoint(checkpoint)
    return [torch_outputs(model, x)["aa"] for x in windows]


def snr_vs_truth(estimates: list[np.ndarray], truths: list[np.ndarray], lag: int) -> list[float]:
    """Each window's SNR_AA with the estimate realigned by the model's lag (samples)."""
    from afkd.training.metrics import snr_db

    n = len(truths[0]) - lag
    return [snr_db(t[:n], e[lag : lag + n]) for e, t in zip(estimates, truths)]


def measure(label: str, checkpoint: Path, mode: str, work: Path, calibration: Path, val: dict,
            ptq_float_val: list[np.ndarray], ptq_float_truth: list[float]) -> dict:
    from afkd.export import checks
    from afkd.export.tflite_export import export_tflite
    from afkd.training.checkpoint import load_checkpoint
    from afkd.training.metrics import paired_difference

    out = work / "qat" / f"{checkpoint.stem}_{mode}"
    manifest = export_tflite(checkpoint, out, quant=mode, calibration=calibration,
                             calibration_segments=16, validation_segments=4)
    model, _ = load_checkpoint(checkpoint)
    lag = model.cfg.lookahead_samples
    quantized = tflite_outputs((out / manifest["files"][mode]).read_bytes(), val["ecg"])
    own_float = float_outputs(checkpoint, val["ecg"])
    q_truth = snr_vs_truth(quantized, val["aa"], lag)
    f_truth = snr_vs_truth(own_float, val["aa"], lag)
    return {
        "row": label, "mode": mode, "checkpoint": str(checkpoint),
        "aa_snr_vs_float_db": manifest["quantized_vs_float"]["aa_snr_db"],
        "aa_snr_vs_ptq_float_db": checks.snr_db(np.concatenate(ptq_float_val), np.concatenate(quantized)),
        "snr_aa_truth_quantized_db": float(np.mean(q_truth)),
        "snr_aa_truth_float_db": float(np.mean(f_truth)),
        "quantized_minus_ptq_float_db": paired_difference(q_truth, ptq_float_truth),
        "tflm_max_lsb_diff": manifest["tflm_max_lsb_diff"], "segments": len(q_truth),
    }


#: (row, which tensors are rounded): the groups of the noise budget
BUDGET = (("everything (the PTQ model)", None), ("weights and biases only", "weights"),
          ("the input", lambda n: n == "ecg"), ("the encoders' outputs", lambda n: n.endswith("_encoder")),
          ("the TCN blocks", lambda n: "_block" in n), ("the masks (LOGISTIC, 1/256)", lambda n: n.endswith("_mask")),
          ("the masked frames (MUL)", lambda n: n.endswith("_masked")), ("the decoders", lambda n: n.endswith("_decoder")))


def noise_budget(checkpoint: Path, calibration: Path, mode: str = "int8") -> list[dict]:
    import torch

    from afkd.export import checks
    from afkd.training.calibration_windows import split_windows
    from afkd.training.checkpoint import load_checkpoint
    from afkd.training.fake_quant import FakeQuantizer, calibrate
    from afkd.training.folding import fold_batchnorm
    from afkd.training.quant_graph import FloatHook, graph_features

    model, _ = load_checkpoint(checkpoint)
    folded = fold_batchnorm(model)
    cal, val, _ = split_windows(model.cfg, 7500, str(calibration), 16, 4)
    rounding = FakeQuantizer(calibrate(folded, cal, mode))

    class Some(FloatHook):
        def __init__(self, chosen):
            self.chosen = chosen

        def act(self, name, x):
            return rounding.act(name, x) if callable(self.chosen) and self.chosen(name) else x

        def weight(self, name, w, channel_dim):
            return rounding.weight(name, w, channel_dim) if self.chosen == "weights" else w

        def bias(self, name, b, w, channel_dim, input_name):
            return rounding.bias(name, b, w, channel_dim, input_name) if self.chosen == "weights" else b

    def aa(hook) -> np.ndarray:
        with torch.no_grad():
            return np.concatenate([graph_features(folded, torch.from_numpy(x)[None], hook)["aa"].numpy().ravel()
                                   for x in val])

    reference = aa(FloatHook())
    return [{"rounded": label, "aa_snr_vs_float_db": checks.snr_db(reference, aa(rounding if chosen is None else Some(chosen)))}
            for label, chosen in BUDGET]


def main() -> None:
    from afkd.training.checkpoint import load_checkpoint
    from afkd.training.data.dataset import Dataset
    from afkd.training.data.synth import synth_dataset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ptq", type=Path, default=REPO / "models" / "af_only" / "student_fitnet.pt")
    parser.add_argument("--qat", action="append", default=[], metavar="MODE=CKPT",
                        help="a QAT checkpoint for a mode (default: models/<ptq stem>_qat_<mode>.pt where present)")
    parser.add_argument("--segments", type=int, default=200, help="synthetic validation windows (default 200)")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "bench")
    args = parser.parse_args()
    qat = dict(item.split("=", 1) for item in args.qat)
    for mode in ("int8", "int16x8"):
        default = args.ptq.with_name(f"{args.ptq.stem}_qat_{mode}.pt")
        if mode not in qat and default.exists():
            qat[mode] = str(default)
    calibration = args.work / "calibration_seed1_20"
    if not (calibration / "dataset.json").exists():
        synth_dataset(calibration, 20, 30.0, 250.0, seed=1)
    data = Dataset(synthetic_validation(args.work, 200))
    segs = [data.segment(i) for i in range(min(args.segments, len(data)))]
    val = {"ecg": [s["ecg"][:7500] for s in segs], "aa": [s["aa"][:7500] for s in segs]}
    ptq_model, _ = load_checkpoint(args.ptq)
    ptq_float = float_outputs(args.ptq, val["ecg"])
    ptq_truth = snr_vs_truth(ptq_float, val["aa"], ptq_model.cfg.lookahead_samples)
    rows = []
    for mode in ("int8", "int16x8"):
        rows.append(measure("PTQ", args.ptq, mode, args.work, calibration, val, ptq_float, ptq_truth))
        if mode in qat:
            rows.append(measure("QAT", Path(qat[mode]), mode, args.work, calibration, val, ptq_float, ptq_truth))
    lines = [f"float {args.ptq.name}: SNR_AA vs truth {np.mean(ptq_truth):.2f} dB on {len(ptq_truth)} windows", "",
             "| mode | training | AA SNR vs own float (dB) | AA SNR vs PTQ float (dB) | SNR_AA vs truth, quantized (dB) "
             "| SNR_AA vs truth, own float (dB) | quantized - PTQ float, paired (dB) | TFLM vs TFLite ref |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    for r in rows:
        d = r["quantized_minus_ptq_float_db"]
        exact = "bit-exact" if r["tflm_max_lsb_diff"] == 0 else f"max {r['tflm_max_lsb_diff']} LSB"
        lines.append(f"| {r['mode']} | {r['row']} | {r['aa_snr_vs_float_db']:.1f} | {r['aa_snr_vs_ptq_float_db']:.1f} | "
                     f"{r['snr_aa_truth_quantized_db']:.2f} | {r['snr_aa_truth_float_db']:.2f} | "
                     f"{d['mean']:+.2f} ({d['low']:+.2f} to {d['high']:+.2f}) | {exact} |")
    budget = noise_budget(args.ptq, calibration)
    lines += ["", f"int8 noise budget of {args.ptq.name} (fake-quantized graph, 4 validation windows):", "",
              "| rounded to int8 | AA SNR vs float (dB) |", "|---|---:|"]
    lines += [f"| {b['rounded']} | {b['aa_snr_vs_float_db']:.1f} |" for b in budget]
    table = "\n".join(lines)
    print(table)
    (args.work / "qat_table.md").write_text(table + "\n")
    (args.work / "qat_table.json").write_text(json.dumps({"rows": rows, "int8_noise_budget": budget}, indent=2) + "\n")


if __name__ == "__main__":
    main()
