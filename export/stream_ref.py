"""NumPy streaming reference: the golden model of the generated firmware.

It walks the same plan with the same parameters as the generated C, hop by hop, with the
same ring buffers and decoder tails, using the integer ops of ``export.intops``. When the
firmware and TFLite disagree, this model says which layer is wrong: it can dump every
layer's frame at every step, and it equals TFLite's one-shot output by construction (a test
keeps it so).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from afkd.errors import AfkdError
from afkd.export import intops
from afkd.export.intops_leaky import leaky_relu
from afkd.export.kernel_params import LayerParams, layer_params
from afkd.export.plan import StreamingPlan


class StreamingReference:
    """``step(hop) -> {"aa": hop, "va": hop}`` of output hop t - latency; ``flush()`` the last.

    A plan with frame outputs (a rhythm detector) returns ``{"logits": frame}`` per step and
    keeps what its firmware keeps: the int32 running sum of each output's codes, so
    :meth:`result` gives the class scores and the decision after any step.
    """

    def __init__(self, plan: StreamingPlan):
        self.plan = plan
        self.params = layer_params(plan)
        self.dtype = np.int8 if plan.mode == "int8" else np.int16
        self.reset()

    def reset(self) -> None:
        plan = self.plan
        self.window = np.full(plan.window, plan.input.zero_point, dtype=np.int64)
        self.rings: dict[str, deque] = {}
        self.tails: dict[str, np.ndarray] = {}
        for p in self.params:
            layer = p.layer
            if layer.kind in ("depthwise", "delay"):
                zero = np.full(plan.buffers[layer.inputs[0]].channels, p.input_zero_point, dtype=np.int64)
                self.rings[layer.name] = deque([zero] * layer.history_frames, maxlen=layer.history_frames)
            elif layer.kind == "decoder":
                self.tails[layer.name] = np.zeros(layer.kernel, dtype=np.int64)
        self.sums = {key: np.zeros(buf.channels, dtype=np.int64) for key, buf in plan.outputs.items()}
        self.frames = 0

    def step(self, hop: np.ndarray, dump: dict | None = None) -> dict[str, np.ndarray]:
        plan = self.plan
        hop = np.asarray(hop).reshape(-1)
        if hop.size != plan.hop:
            raise AfkdError(f"stream: a step takes {plan.hop} samples, got {hop.size}")
        self.window = np.concatenate([self.window[plan.hop :], hop.astype(np.int64)])
        values: dict[str, np.ndarray] = {plan.input.name: hop}
        for p in self.params:
            values[p.layer.output] = self._run(p, values, flush=False)
            if dump is not None:
                dump.setdefault(p.layer.name, []).append(values[p.layer.output])
        out = {key: values[buf.name] for key, buf in plan.outputs.items()}
        if plan.output_kind == "frames":
            for key, frame in out.items():
                self.sums[key] += np.asarray(frame, dtype=np.int64)
            self.frames += 1
        return out

    def result(self, key: str = "logits") -> dict:
        """Frame outputs: the running sum of the codes (int32 in the firmware), frames so far and
        the decision (argmax, first class on ties): what ``<prefix>_result`` reports."""
        if self.plan.output_kind != "frames":
            raise AfkdError("stream: result() is for frame outputs (a rhythm detector)")
        sums = self.sums[key]
        if np.any(np.abs(sums) >= 2**31):
            raise AfkdError("stream: the running logit sum left int32")
        return {"sums": sums.copy(), "frames": self.frames, "decision": int(np.argmax(sums))}

    def flush(self) -> dict[str, np.ndarray]:
        if self.plan.output_kind == "frames":
            return {}  # nothing is held back: every frame was final in its step
        out = {}
        for key, buf in self.plan.outputs.items():
            p = next(p for p in self.params if p.layer.output == buf.name)
            out[key] = self._decode(p, np.full(p.layer.weights.shape[1], p.input_zero_point), )
        return out

    def run(self, samples: np.ndarray) -> dict[str, np.ndarray]:
        """Stream a whole signal (a multiple of the hop) and return outputs aligned with it.

        The first ``latency_hops`` steps emit hops before the signal (dropped) and ``flush``
        supplies the last, so the result lines up sample for sample with the one-shot model.
        Frame outputs come back as the frames' values in order, frame-major (the graph's NHWC).
        """
        plan = self.plan
        samples = np.asarray(samples).reshape(-1)
        if samples.size % plan.hop:
            raise AfkdError(f"stream: {samples.size} samples is not a multiple of the hop {plan.hop}")
        self.reset()
        hops = {key: [] for key in plan.outputs}
        for t in range(samples.size // plan.hop):
            out = self.step(samples[t * plan.hop : (t + 1) * plan.hop])
            if t >= plan.latency_hops:
                for key in hops:
                    hops[key].append(out[key])
        for _ in range(plan.latency_hops):
            out = self.flush()
            for key in hops:
                hops[key].append(out[key])
        return {key: np.concatenate(v).astype(self.dtype) for key, v in hops.items()}

    # --- one frame of one layer -------------------------------------------------------------

    def _run(self, p: LayerParams, values: dict, flush: bool) -> np.ndarray:
        layer, a = p.layer, p.arrays
        x = values[layer.inputs[0]]
        s = p.scalars
        if layer.kind == "encoder":
            return intops.encoder(self.window.astype(self.dtype), a["weights"], a["bias_raw"], layer.stride,
                                  p.input_zero_point, a["multiplier"], a["shift"], s["output_offset"],
                                  s["act_min"], s["act_max"])[0]
        if layer.kind == "pointwise":
            return intops.pointwise(x[None], a["weights"], a["bias_raw"], p.input_zero_point, a["multiplier"],
                                    a["shift"], s["output_offset"], s["act_min"], s["act_max"])[0]
        if layer.kind == "depthwise":
            ring = self.rings[layer.name]
            d, k = layer.dilation, layer.kernel
            past = list(ring)  # oldest first: frames t-R .. t-1
            taps = [past[len(past) - (k - 1 - j) * d] for j in range(k - 1)] + [x]
            y = intops.depthwise(np.stack(taps).astype(self.dtype), a["weights"], a["bias_raw"], 1,
                                 p.input_zero_point, a["multiplier"], a["shift"], s["output_offset"],
                                 s["act_min"], s["act_max"])[0]
            ring.append(np.asarray(x, dtype=np.int64))
            return y
        if layer.kind == "delay":
            ring = self.rings[layer.name]
            oldest = ring[0]  # frame t - D
            ring.append(np.asarray(x, dtype=np.int64))
            return oldest.astype(self.dtype)
        if layer.kind == "prelu":
            return intops.prelu(x[None], p.prelu)[0]
        if layer.kind == "leaky_relu":
            return leaky_relu(x, p.leaky_relu, self.dtype)
        if layer.kind == "logistic":
            if p.wide:
                return intops.sigmoid_s16(x, s["input_multiplier"], s["input_left_shift"])
            return intops.sigmoid_s8(x, a["table"])
        if layer.kind == "add":
            return intops.add(x, values[layer.inputs[1]], p.add)
        if layer.kind == "mul":
            return intops.mul(x, values[layer.inputs[1]], p.mul, dtype=self.dtype)
        if layer.kind == "decoder":
            return self._decode(p, x)
        raise AfkdError(f"layer {layer.name}: no reference for {layer.kind!r}")

    def _decode(self, p: LayerParams, frame: np.ndarray) -> np.ndarray:
        """Overlap-add one frame; finish and emit the first S samples of the tail."""
        layer, a, s = p.layer, p.arrays, p.scalars
        S = layer.stride
        tail = self.tails[layer.name]
        x = np.asarray(frame, dtype=np.int64) - p.input_zero_point
        tail += a["weights"].astype(np.int64) @ x  # (L,) contributions of this frame
        acc = tail[:S] + s["bias"]
        scaled = (intops.requantize64 if p.wide else intops.requantize)(acc, a["multiplier"][0], a["shift"][0])
        out = np.clip(scaled + s["output_offset"], s["act_min"], s["act_max"]).astype(self.dtype)
        self.tails[layer.name] = np.concatenate([tail[S:], np.zeros(S, dtype=np.int64)])
        return out
