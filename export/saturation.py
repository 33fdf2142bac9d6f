"""How often the quantized model hits the ends of its ranges on the validation data.

A full-integer model clips wherever a signal leaves the range its calibration saw: at the input
(an ECG louder than the calibration set) and inside, on any activation. Clipping is silent (the
firmware still equals TFLite bit for bit) but costs accuracy, and it is the usual reason a model
that is good on synthetic data is poor on a new recorder. This module counts it, so a report can
say where and how much, and the user can export with more ``--headroom``.

The counts come from TFLite's reference kernels with every intermediate tensor kept (one
invoke per segment); they may differ from TFLM's by the few LSB the two disagree on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

# Outputs whose rails are not clipping: a sigmoid's 0 and 1 are its range by design; PAD and
# STRIDED_SLICE copy values already counted at the op that made them.
NOT_CLIPPING = {"LOGISTIC", "PAD", "STRIDED_SLICE"}


@dataclass
class LayerSaturation:
    layer: str
    op: str
    clipped: int
    values: int

    @property
    def fraction(self) -> float:
        return self.clipped / self.values if self.values else 0.0


@dataclass
class Saturation:
    input_clipped: int
    input_samples: int
    input_range_mv: tuple[float, float]  # the lowest and highest mV the input can hold
    layers: list[LayerSaturation] = field(default_factory=list)  # clipping layers, worst first

    @property
    def worst(self) -> LayerSaturation | None:
        return self.layers[0] if self.layers else None

    def to_dict(self) -> dict:
        worst = self.worst
        return {"input_clipped": self.input_clipped, "input_samples": self.input_samples,
                "input_fraction": self.input_clipped / self.input_samples if self.input_samples else 0.0,
                "input_range_mv": list(self.input_range_mv),
                "worst_layer": worst.layer if worst else None,
                "worst_fraction": worst.fraction if worst else 0.0,
                "layers": [{**asdict(s), "fraction": s.fraction} for s in self.layers]}


def _rails(dtype: np.dtype, zero_point: int) -> tuple[int | None, int | None]:
    """The ends of the integer range that stand for clipped real values (None: not one)."""
    info = np.iinfo(dtype)
    return (info.min if zero_point > info.min else None), (info.max if zero_point < info.max else None)


def _count(values: np.ndarray, rails: tuple[int | None, int | None]) -> int:
    low, high = rails
    return int(sum(np.count_nonzero(values == r) for r in (low, high) if r is not None))


def measure(model_bytes: bytes, inputs: list[np.ndarray], valid: list[int] | None = None) -> Saturation:
    """Count rail values over ``inputs`` (each the model's whole quantized input, shaped as it).

    ``valid[i]`` is how many leading samples of input i are signal (the rest padding): the input
    count covers only those; activations are counted over the whole tensor (padding holds the
    zero point, which clips nothing).
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=model_bytes, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    tensors = {t["index"]: t for t in it.get_tensor_details()}
    entry = it.get_input_details()[0]
    in_dtype, (in_scale, in_zp) = np.dtype(entry["dtype"]), entry["quantization"]
    watched = []
    for op in it._get_ops_details():
        if op["op_name"] in NOT_CLIPPING:
            continue
        for index in op["outputs"]:
            t = tensors[int(index)]
            if np.dtype(t["dtype"]).kind == "i" and t["quantization"][0] > 0:
                watched.append((t["name"], op["op_name"], int(index), _rails(t["dtype"], int(t["quantization"][1]))))
    counts = {name: [op, 0, 0] for name, op, _, _ in watched}
    input_clipped = input_samples = 0
    in_rails = _rails(in_dtype, int(in_zp))
    for i, x in enumerate(inputs):
        n = x.size if valid is None else int(valid[i])
        input_clipped += _count(np.asarray(x).reshape(-1)[:n], in_rails)
        input_samples += n
        it.set_tensor(entry["index"], np.asarray(x, dtype=in_dtype).reshape(entry["shape"]))
        it.invoke()
        for name, _, index, rails in watched:
            values = it.get_tensor(index)
            counts[name][1] += _count(values, rails)
            counts[name][2] += values.size
    info = np.iinfo(in_dtype)
    input_range_mv = (float(in_scale) * (info.min - int(in_zp)), float(in_scale) * (info.max - int(in_zp)))
    layers = [LayerSaturation(name, op, clipped, size) for name, (op, clipped, size) in counts.items() if clipped]
    layers.sort(key=lambda s: s.fraction, reverse=True)
    return Saturation(input_clipped, input_samples, input_range_mv, layers)


def range_line(r: dict) -> str:
    """Where the quantized model clipped (a :meth:`Saturation.to_dict`), with the remedy if it did."""
    line = (f"input clipped {r['input_clipped']:,} of {r['input_samples']:,} samples "
            f"({mv_range(r['input_range_mv'])}), ")
    if not r.get("worst_layer"):
        return line + "no activation clipped"
    n = len(r["layers"])
    line += (f"{n} layer{'' if n == 1 else 's'} clipped, worst {r['worst_layer']} "
             f"({r['worst_fraction']:.3%} of its values)")
    return line + "; export with more --headroom (int16x8)"


def mv_range(bounds) -> str:
    """``(-22.4, 22.4)`` -> "+-22.4 mV"; an asymmetric range (int8) as "-0.51 to 2.1 mV"."""
    low, high = bounds
    if abs(low + high) <= 0.01 * high:
        return f"+-{high:.3g} mV"
    return f"{low:.3g} to {high:.3g} mV"
