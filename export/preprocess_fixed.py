"""The firmware's front end in integer arithmetic: ADC counts in, the model's input codes out.

What the dataset import does to a record (``training/data/preprocess.py``: resample to the
model rate with ``scipy.signal.resample_poly``, then the causal first-order 0.01 Hz high-pass
started at steady state), the firmware must do to its ADC stream. This module is that front end
written the way the generated C (``firmware/templates/preprocess.c.j2``) computes it, integer
operation for integer operation, so the two agree bit for bit (tests/test_preprocess_fixed.py
compiles the C and compares). The import itself stays in float64; this twin follows it within
one step of the model's input quantization (the same test measures it on real records), which
is the promise: the firmware sees what the model was trained on.

The arithmetic, per ADC sample ``c`` (int32):
1. millivolts in Q16 (1 LSB = 2^-16 mV = 15 nV): ``x = sat30(rshr((c - offset) * gain_m, gain_s))``,
   ``gain_m * 2^-gain_s = gain_mv * 2^16`` with a 31-bit mantissa, int64 product.
2. resampling (only when the ADC rate differs from the model rate, and is higher): the same
   Kaiser-windowed FIR that ``resample_poly`` designs, taps in Q30, run causally as a polyphase
   filter: output m = sum over inputs n of h[m*down - n*up] * x[n] (int64), ``rshr(., 30)``.
   ``resample_poly`` centres that filter (half_len = 10*max(up, down) taps of look-ahead); run
   causally it gives the same samples 10 outputs later, so the first 10 outputs (the filter
   filling up over the zeros before the record) are dropped and the stream lags the ADC by
   10 model samples (40 ms at 250 Hz).
3. high-pass, y = k (x - x_prev) + p y_prev with k, p in Q30 and the remainder of each step's
   shift fed into the next (error feedback), so rounding does not pile up behind the pole at
   p = 0.99987 (without it the noise would grow 60-fold). Started at steady state on the first
   sample: x_prev = x, y_prev = 0, as the import's ``lfilter_zi`` does.
4. the model's input code: ``q = sat(rshr(y * quant_m, quant_s) + zero_point)``.
``rshr(v, s)`` is a rounding arithmetic right shift: ``(v + 2^(s-1)) >> s``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from afkd.errors import AfkdError

Q_SIGNAL = 16   # fraction bits of the millivolt signal inside the front end
Q_COEF = 30     # fraction bits of the filter coefficients
SIGNAL_LIMIT = (1 << 30) - 1  # |x| after step 1 (16384 mV), so differences and products fit int64
MAX_TAPS_PER_PHASE = 128


def rshr(value: int, shift: int) -> int:
    """Rounding arithmetic right shift (half up), as the C does it on int64."""
    return (value + (1 << (shift - 1))) >> shift if shift > 0 else value << -shift


def mantissa_shift(value: float) -> tuple[int, int]:
    """(m, s) with m * 2^-s == value, 2^30 <= m < 2^31 (value > 0)."""
    if not value > 0 or not math.isfinite(value):
        raise AfkdError(f"front end: a positive finite factor is needed, got {value}")
    shift = 30 - math.floor(math.log2(value))
    mantissa = round(value * 2.0 ** shift)
    if mantissa >= 1 << 31:  # rounding reached the next power of two
        mantissa, shift = mantissa >> 1, shift - 1
    if not 0 < shift < 63:
        raise AfkdError(f"front end: factor {value} is out of the representable range")
    return mantissa, shift


def resampler_taps(up: int, down: int) -> np.ndarray:
    """The filter ``scipy.signal.resample_poly`` designs for up/down (float64, gain ``up``)."""
    from scipy import signal

    max_rate = max(up, down)
    half_len = 10 * max_rate
    return signal.firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0)) * up


@dataclass(frozen=True)
class FrontEnd:
    """Everything the C front end is generated from; derived integers computed once."""

    fs_in: int
    fs_out: int
    gain_mv: float          # millivolts per ADC count
    offset_counts: int      # ADC count of 0 mV
    input_scale: float      # the model's input quantization
    input_zero_point: int
    sample_bytes: int       # 1: int8 model input, 2: int16
    gain_m: int = field(init=False)
    gain_s: int = field(init=False)
    quant_m: int = field(init=False)
    quant_s: int = field(init=False)
    hp_k: int = field(init=False)
    hp_p: int = field(init=False)
    up: int = field(init=False)
    down: int = field(init=False)
    phases: tuple[tuple[int, ...], ...] = field(init=False)  # Q30 taps, newest input first
    warmup: int = field(init=False)                          # outputs dropped at the start

    def __post_init__(self) -> None:
        if self.fs_in < self.fs_out:
            raise AfkdError(f"--adc-rate {self.fs_in}: below the model's {self.fs_out} Hz (only down-sampling)")
        if not -(1 << 24) <= self.offset_counts < (1 << 24):
            raise AfkdError(f"--adc-offset {self.offset_counts}: outside +-2^24 counts")
        if not 1e-9 <= self.gain_mv <= 1e3:
            raise AfkdError(f"--adc-gain-mv {self.gain_mv}: outside 1e-9 .. 1000 mV per count")
        put = object.__setattr__
        put(self, "gain_m", mantissa_shift(self.gain_mv * 2.0 ** Q_SIGNAL)[0])
        put(self, "gain_s", mantissa_shift(self.gain_mv * 2.0 ** Q_SIGNAL)[1])
        quant_m, quant_s = mantissa_shift(1.0 / (self.input_scale * 2.0 ** Q_SIGNAL))
        put(self, "quant_m", quant_m)
        put(self, "quant_s", quant_s)
        # First-order Butterworth high-pass (bilinear, as scipy.signal.butter(1, fc, "highpass")).
        from afkd.training.data.preprocess import HIGHPASS_HZ

        t = math.tan(math.pi * HIGHPASS_HZ / self.fs_out)
        pole = (1 - t) / (1 + t)
        put(self, "hp_k", round((1 + pole) / 2 * 2 ** Q_COEF))
        put(self, "hp_p", round(pole * 2 ** Q_COEF))
        ratio = Fraction(self.fs_out / self.fs_in).limit_denominator(1000)
        up, down = ratio.numerator, ratio.denominator
        put(self, "up", up)
        put(self, "down", down)
        if up == down:
            put(self, "phases", ())
            put(self, "warmup", 0)
            return
        taps = np.round(resampler_taps(up, down) * 2 ** Q_COEF).astype(np.int64)
        per_phase = -(-taps.size // up)
        if per_phase > MAX_TAPS_PER_PHASE:
            raise AfkdError(f"--adc-rate {self.fs_in}: {per_phase} taps per output (at most {MAX_TAPS_PER_PHASE})")
        phases = []
        for phase in range(up):
            row = [int(taps[phase + j * up]) if phase + j * up < taps.size else 0 for j in range(per_phase)]
            phases.append(tuple(row))
        put(self, "phases", tuple(phases))
        put(self, "warmup", 10 * max(up, down) // down)

    @property
    def taps_per_phase(self) -> int:
        return len(self.phases[0]) if self.phases else 0

    @property
    def delay_samples(self) -> int:
        """Model-rate samples the firmware's stream lags the import's (the resampler's look-ahead)."""
        return self.warmup

    def run(self, counts: np.ndarray) -> np.ndarray:
        """ADC counts (int, fs_in) -> model input codes (fs_out), as the firmware computes them."""
        state = FrontEndState(self)
        out = [v for c in np.asarray(counts).reshape(-1) for v in state.push(int(c))]
        return np.asarray(out, dtype=np.int8 if self.sample_bytes == 1 else np.int16)


class FrontEndState:
    """One stream through a :class:`FrontEnd`; ``push(count)`` returns 0 or more codes."""

    def __init__(self, spec: FrontEnd):
        self.spec = spec
        self.history = [0] * spec.taps_per_phase  # newest first
        self.t = spec.up                          # m*down - n*up for the next output
        self.dropped = 0
        self.started = False
        self.x_prev = self.y_prev = self.err = 0

    def push(self, count: int) -> list[int]:
        s = self.spec
        x = rshr((count - s.offset_counts) * s.gain_m, s.gain_s)
        x = max(-SIGNAL_LIMIT, min(SIGNAL_LIMIT, x))
        if not s.phases:
            return [self._highpass_and_quantize(x)]
        self.history = [x] + self.history[:-1]
        out = []
        self.t -= s.up
        while self.t < s.up:
            acc = sum(h * v for h, v in zip(s.phases[self.t], self.history))
            self.t += s.down
            y = max(-SIGNAL_LIMIT, min(SIGNAL_LIMIT, rshr(acc, Q_COEF)))
            if self.dropped < s.warmup:
                self.dropped += 1
                continue
            out.append(self._highpass_and_quantize(y))
        return out

    def _highpass_and_quantize(self, x: int) -> int:
        s = self.spec
        if not self.started:
            self.started, self.x_prev, self.y_prev, self.err = True, x, 0, 0
        acc = s.hp_k * (x - self.x_prev) + s.hp_p * self.y_prev + self.err
        y = acc >> Q_COEF
        self.err = acc - (y << Q_COEF)
        self.x_prev, self.y_prev = x, y
        info = np.iinfo(np.int8 if s.sample_bytes == 1 else np.int16)
        return max(info.min, min(info.max, rshr(y * s.quant_m, s.quant_s) + s.input_zero_point))


def context(spec: FrontEnd, prefix: str) -> dict:
    """The template context of ``<prefix>_preprocess.[ch]``."""
    return {
        "prefix": prefix, "fs_in": spec.fs_in, "fs_out": spec.fs_out, "gain_mv": repr(spec.gain_mv),
        "offset": spec.offset_counts, "gain_m": spec.gain_m, "gain_s": spec.gain_s, "quant_m": spec.quant_m,
        "quant_s": spec.quant_s, "zero_point": spec.input_zero_point, "hp_k": spec.hp_k, "hp_p": spec.hp_p,
        "up": spec.up, "down": spec.down, "taps_per_phase": spec.taps_per_phase, "warmup": spec.warmup,
        "phases": [", ".join(str(v) for v in row) for row in spec.phases], "q_coef": Q_COEF,
        "signal_limit": SIGNAL_LIMIT, "sample_type": "int8_t" if spec.sample_bytes == 1 else "int16_t",
        "sample_min": -128 if spec.sample_bytes == 1 else -32768, "sample_max": 127 if spec.sample_bytes == 1 else 32767,
        "delay_samples": spec.delay_samples,
    }


def render(spec: FrontEnd, prefix: str, source_name: str) -> dict[str, str]:
    """``<prefix>_preprocess.h`` and ``.c``, from firmware/templates/preprocess.*.j2."""
    import jinja2

    from afkd import __version__
    from afkd.export.codegen import TEMPLATE_SOURCE, template_dir

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir())),
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                     keep_trailing_newline=True)
    values = {**context(spec, prefix), "version": __version__, "source_name": source_name,
              "template_source": TEMPLATE_SOURCE}
    return {f"{prefix}_preprocess.{ext}": environment.get_template(f"preprocess.{ext}.j2").render(
        template=f"preprocess.{ext}.j2", **values) for ext in ("h", "c")}
