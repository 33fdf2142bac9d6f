"""Generate m4_cases.c: random kernel cases with expected bits from export/intops.py (itself
checked against TFLite in the other kernel tests), to run the Cortex-M4 DSP paths on QEMU."""

from __future__ import annotations

import numpy as np

from afkd.export import codegen, intops, intops_linear, intops_pack
from afkd.export.intops_leaky import fast_form, leaky_relu, leaky_relu_params

CTYPE = {np.int8: "int8_t", np.uint8: "uint8_t", np.int16: "int16_t", np.int32: "int32_t",
         np.int64: "int64_t"}


def _array(name: str, values, dtype, const: bool = True) -> str:
    if values is None:
        return f"#define {name} NULL\n"
    values = np.asarray(values).astype(dtype).ravel()
    suffix = "LL" if dtype == np.int64 else ""
    body = ", ".join(f"{int(v)}{suffix}" for v in values)
    # word-aligned like the exporter's arrays and state, so the LDRD loops run
    return (f"static {'const ' if const else ''}{CTYPE[dtype]} {name}[{values.size}] "
            f"__attribute__((aligned(4))) = {{{body}}};\n")


def _multipliers(rng, count, real_scale):
    pairs = [intops.quantize_multiplier(float(r)) for r in rng.uniform(0.5, 2.0, count) * real_scale]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def _wide_stage(name: str, bias, m, s, terms: int, smmulr: bool = False) -> tuple[str, str]:
    """The 16x8 flash encodings (int32 or int64 bias, m16 and ts, or with smmulr the int32
    SMMULR multipliers where they apply) as C arrays, and the struct fields naming them."""
    bias32, bias64 = intops_pack.split_bias_s16(bias, len(m), terms)
    m16, ts = intops_pack.reduced_multiplier_s16(m, s)
    m32 = intops_pack.smmulr_multiplier_s16(m16, ts) if smmulr and bias64 is None else None
    arrays = _array(f"{name}_b", bias32, np.int32) + _array(f"{name}_b64", bias64, np.int64)
    fields = f".bias = {name}_b, .bias64 = {name}_b64, "
    if m32 is not None:
        return arrays + _array(f"{name}_m32", m32, np.int32), fields + f".multiplier32 = {name}_m32, "
    arrays += _array(f"{name}_m", m16, np.int16) + _array(f"{name}_s", ts, np.uint8)
    return arrays, fields + f".multiplier = {name}_m, .shift = {name}_s, "


class Cases:
    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.decls: list[str] = []
        self.body: list[str] = []

    def _report(self, name, out, count, expected, macs, dtype):
        self.decls.append(_array(f"{name}_expected", expected, np.int32))
        self.body.append(
            f"    for (int32_t i = 0; i < {count}; i++) {{ actual[i] = {out}[i]; }}\n"
            f'    m4_report("{name}", actual, {name}_expected, {count}, n, {macs}u);\n')

    def dense(self, kind: str, rows: int, cols: int, wide: bool, big_bias: bool = False,
              spread: float = 1.0, weights16: bool = False, act: str = "clamp", no_bias: bool = False,
              smmulr: bool = False):
        """big_bias: a bias too large for int32 sums (the int64 path); spread: multipliers
        spread over 2^+-spread around the typical scale (every requant16 case); weights16: the
        exporter's default 16x8 layout (int16-stored weights, SMMULR multipliers); act: the
        output range, "clamp" (an arbitrary one), "full" (the type's) or "relu" (the last two
        take the fast paths: the assembly group routines); no_bias: NULL bias; smmulr: SMMULR
        multipliers with int8-stored 16x8 weights too (what the exporter gives them)."""
        rng = self.rng
        name = (f"{kind}_{'s16' if wide else 's8'}_{rows}x{cols}{'_bigbias' if big_bias else ''}"
                f"{'_w16' if weights16 else ''}{'_m32' if smmulr else ''}{'' if act == 'clamp' else '_' + act}"
                f"{'_nobias' if no_bias else ''}")
        dtype = np.int16 if wide else np.int8
        info = np.iinfo(dtype)
        w = rng.integers(-127, 128, (rows, cols))
        x = rng.integers(info.min, info.max + 1, cols)
        zp_in = 0 if wide else int(rng.integers(-20, 20))
        zp_out = 0 if wide else int(rng.integers(-10, 10))
        typical = np.sqrt(cols) * 127 * (info.max / 2)
        scale = (info.max / 3) / typical * 2.0 ** rng.uniform(-spread, spread, rows)
        m, s = _multipliers(rng, rows, scale)
        bias = rng.integers(-(1 << 12), 1 << 12, rows) * (256 if wide else 1)
        if big_bias:
            bias[0] = (1 << 31) + 12345   # int64 sums; requantized value still in int32 as TFLite requires
        if no_bias:
            bias[:] = 0                   # split_bias_s16 leaves an all-zero bias out: NULL
        lo, hi = {"clamp": (-20000, 30000) if wide else (-100, 120), "full": (int(info.min), int(info.max)),
                  "relu": (0, int(info.max))}[act]
        expected = intops.pointwise(x[None].astype(dtype), w, bias, zp_in, m, s, zp_out, lo, hi,
                                    wide=wide)[0]
        d = self.decls
        d.append(_array(f"{name}_x", x, dtype))
        if wide:
            arrays, fields = _wide_stage(name, bias, m, s, cols, smmulr=weights16 or smmulr)
            if weights16 and "multiplier32" in fields:
                arrays += _array(f"{name}_w16", intops_pack.pack_dense_weights16(w), np.int16)
                fields += f".weights16 = {name}_w16, "
            else:
                arrays += _array(f"{name}_w", intops_pack.pack_dense_weights(w, wide), np.int8)
                fields += f".weights = {name}_w, "
            d.append(arrays + f"static const afkd_dense_s16_params {name}_p = {{.rows = {rows}, .cols = {cols}, "
                              f"{fields}.act_min = {lo}, .act_max = {hi}}};\n")
        else:
            d.append(_array(f"{name}_m", m, np.int32) + _array(f"{name}_s", s, np.int32))
            folded = intops.fold_input_offset(bias, w, zp_in)
            if weights16:
                d.append(_array(f"{name}_w16", intops_pack.pack_dense_weights16(w), np.int16))
                weights = f".weights16 = {name}_w16"
            else:
                d.append(_array(f"{name}_w", intops_pack.pack_dense_weights(w, wide), np.int8))
                weights = f".weights = {name}_w"
            d.append(_array(f"{name}_b", folded, np.int32)
                     + f"static const afkd_dense_s8_params {name}_p = {{.rows = {rows}, .cols = {cols}, {weights}, "
                       f".bias = {name}_b, .multiplier = {name}_m, .shift = {name}_s, .output_offset = {zp_out}, "
                       f".act_min = {lo}, .act_max = {hi}, "
                       f".requant_32bit = {intops_pack.requant_mode_s8(folded, cols, s, lo, hi)}}};\n")
        d.append(_array(f"{name}_out", np.zeros(rows), dtype, const=False))
        suffix = "s16" if wide else "s8"
        # the exporter's checked entry (the assembly routine) where its conditions hold
        checked = (wide and weights16 and act != "clamp" and not no_bias and rows % 4 == 0 and cols % 4 == 0
                   and cols <= codegen.DENSE16_MAX_COLS)
        self.body.append(f"    cortex_m_counter_start();\n"
                         f"    afkd_{kind}_{suffix}{'_w16' if checked else ''}(&{name}_p, {name}_x, {name}_out);\n"
                         f"    n = cortex_m_counter_read();\n")
        self._report(name, f"{name}_out", rows, expected, rows * cols, dtype)

    def depthwise(self, channels: int, wide: bool, weights16: bool = False, leaky: tuple | None = None,
                  spread: float = 0.0, relu: bool = False):
        """leaky: (output scale, slope) of a LEAKY_RELU after the layer (input scale 0.01), its
        fast form through afkd_depthwise_leaky_s16 (16x8, weights16); spread: multipliers spread
        over 2^+-spread (int8: some shifts positive, the output stage's general form); relu: the
        clamp starts at the output zero point (int8: the right-shift form that is not one SSAT)."""
        rng = self.rng
        name = (f"depthwise_{'s16' if wide else 's8'}_{channels}{'_w16' if weights16 else ''}"
                f"{'_spread' if spread else ''}{'_relu' if relu else ''}")
        if leaky is not None:
            name += f"_leaky_{leaky[0]}_{leaky[1]}".replace(".", "p")
        dtype = np.int16 if wide else np.int8
        info = np.iinfo(dtype)
        w = rng.integers(-127, 128, (3, channels))
        frames = rng.integers(info.min, info.max + 1, (3, channels))
        zp_in = 0 if wide else int(rng.integers(-20, 20))
        zp_out = 0 if wide else int(rng.integers(-10, 10))
        m, s = _multipliers(rng, channels, (info.max / 3) / (np.sqrt(3) * 127 * info.max / 2)
                            * 2.0 ** rng.uniform(-spread, spread, channels))
        bias = rng.integers(-(1 << 10), 1 << 10, channels)
        lo, hi = (zp_out if relu else int(info.min)), int(info.max)
        expected = intops.depthwise(frames.astype(dtype), w, bias, 1, zp_in, m, s, zp_out, lo, hi,
                                    wide=wide)[0]
        d = self.decls
        d.append("".join(_array(f"{name}_f{k}", frames[k], dtype) for k in range(3)))
        ctype = CTYPE[dtype]
        d.append(f"static const {ctype} *const {name}_taps[3] = {{{name}_f0, {name}_f1, {name}_f2}};\n")
        if wide:
            arrays, fields = _wide_stage(name, bias, m, s, 3, smmulr=weights16)
            if weights16 and "multiplier32" in fields:
                arrays += _array(f"{name}_w16", intops_pack.pack_depthwise_weights16(w), np.int16)
                fields += f".weights16 = {name}_w16, "
            else:
                arrays += _array(f"{name}_w", w, np.int8)
                fields += f".weights = {name}_w, "
            d.append(arrays + f"static const afkd_depthwise_s16_params {name}_p = {{.channels = {channels}, "
                              f".taps = 3, {fields}.act_min = {lo}, .act_max = {hi}}};\n")
        else:
            d.append(_array(f"{name}_w", w, np.int8) + _array(f"{name}_m", m, np.int32) + _array(f"{name}_s", s, np.int32)
                     + _array(f"{name}_b", intops.fold_input_offset(bias, w.T, zp_in), np.int32)
                     + f"static const afkd_depthwise_s8_params {name}_p = {{{channels}, 3, "
                       f"{name}_w, {name}_b, {name}_m, {name}_s, {zp_out}, {lo}, {hi}, "
                       f"{intops_pack.requant_mode_s8(intops.fold_input_offset(bias, w.T, zp_in), 3, s, lo, hi)}}};\n")
        d.append(_array(f"{name}_out", np.zeros(channels), dtype, const=False))
        suffix = "s16" if wide else "s8"
        if leaky is None:
            call = f"afkd_depthwise_{suffix}(&{name}_p, {name}_taps, {name}_out)"
        else:
            q = leaky_relu_params(0.01, 0, leaky[1], leaky[0], 0, int16=True)
            assert q.fast != 0
            expected = leaky_relu(expected, q, np.int16)
            fields = ", ".join(str(getattr(q, f)) for f in q.__dataclass_fields__)
            d.append(f"static const afkd_leaky_relu_params {name}_q = {{{fields}}};\n"
                     + _array(f"{name}_scratch", np.zeros(channels), dtype, const=False))
            call = f"afkd_depthwise_leaky_s16(&{name}_p, &{name}_q, {name}_taps, {name}_scratch, {name}_out)"
        self.body.append(f"    cortex_m_counter_start();\n    {call};\n    n = cortex_m_counter_read();\n")
        self._report(name, f"{name}_out", channels, expected, 3 * channels, dtype)

    def decoder(self, channels: int, wide: bool, frames: int = 4, weights16: bool = False, tail32: bool = False):
        """tail32: the int32 overlap-add tail and SMMULR output stage (afkd_decoder_s16_tail32)."""
        rng = self.rng
        name = f"decoder_{'s16' if wide else 's8'}_{channels}{'_w16' if weights16 else ''}{'_tail32' if tail32 else ''}"
        dtype = np.int16 if wide else np.int8
        info = np.iinfo(dtype)
        w = rng.integers(-127, 128, (16, channels))
        x = rng.integers(info.min, info.max + 1, (frames, channels))
        zp_in = 0 if wide else int(rng.integers(-20, 20))
        x[-1] = zp_in                                  # last frame flushes the tail
        zp_out = 0 if wide else int(rng.integers(-10, 10))
        m, s = _multipliers(rng, 1, (info.max / 3) / (np.sqrt(2 * channels) * 127 * info.max / 2))
        bias = int(rng.integers(-(1 << 10), 1 << 10))
        lo, hi = int(info.min), int(info.max)
        expected = intops.transpose_conv(x.astype(dtype), w, bias, 8, zp_in, m[0], s[0], zp_out,
                                         lo, hi, wide=wide)[: frames * 8]
        d = self.decls
        if weights16:
            d.append(_array(f"{name}_w16", intops_pack.pack_dense_weights16(w), np.int16))
        else:
            d.append(_array(f"{name}_w", intops_pack.pack_dense_weights(w, True) if wide else w, np.int8))
        d.append(_array(f"{name}_x", x, dtype))
        suffix = "s16" if wide else "s8"
        if wide:
            weights = f".weights16 = {name}_w16" if weights16 else f".weights = {name}_w"
            m32 = intops_pack.decoder_multiplier32_s16(int(m[0]), int(s[0]), bias, 16, 8, channels) if tail32 else 0
            assert m32 is not None
            d.append(f"static const afkd_decoder_s16_params {name}_p = {{.channels = {channels}, .kernel = 16, "
                     f".stride = 8, {weights}, .bias = {bias}LL, .multiplier = {m[0]}, .shift = {s[0]}, "
                     f".act_min = {lo}, .act_max = {hi}, .multiplier32 = {m32}}};\n"
                     + _array(f"{name}_tail", np.zeros(16), np.int32 if tail32 else np.int64, const=False))
        else:
            d.append(_array(f"{name}_off", intops.decoder_tap_offsets(w, zp_in), np.int32)
                     + f"static const afkd_decoder_s8_params {name}_p = {{{channels}, 16, 8, "
                       f"{name}_w, {name}_off, {bias}, {m[0]}, {s[0]}, {zp_out}, {lo}, {hi}}};\n"
                     + _array(f"{name}_tail", np.zeros(16), np.int32, const=False))
        d.append(_array(f"{name}_out", np.zeros(frames * 8), dtype, const=False))
        self.body.append(f"    cortex_m_counter_start();\n"
                         f"    for (int32_t t = 0; t < {frames}; t++) {{\n"
                         f"        afkd_decoder_{suffix}{'_tail32' if tail32 else ''}(&{name}_p, {name}_x + t * {channels}, "
                         f"{name}_tail, {name}_out + t * 8);\n    }}\n"
                         f"    n = cortex_m_counter_read();\n")
        self._report(name, f"{name}_out", frames * 8, expected, frames * 16 * channels, dtype)

    def _elementwise(self, name, call, count, expected, decls):
        self.decls.append(decls + _array(f"{name}_out", np.zeros(count), expected.dtype.type, const=False))
        self.body.append(f"    cortex_m_counter_start();\n    {call};\n    n = cortex_m_counter_read();\n")
        self._report(name, f"{name}_out", count, expected, 0, expected.dtype.type)

    def leaky_relu(self, count: int, wide: bool, same_scale: bool = False, fast: bool = False,
                   out_scale: float = 0.008, slope: float = 0.25):
        """``fast``: the 16x8 one-SMLAW form the exporter proves (else TFLite's form)."""
        tag = ("_same_scale" if same_scale else "") + (f"_fast_{out_scale}_{slope}".replace(".", "p").replace("-", "m")
                                                      if fast else "")
        rng, name = self.rng, f"leaky_relu_{'s16' if wide else 's8'}_{count}{tag}"
        dtype = np.int16 if wide else np.int8
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max + 1, count)
        x[: min(count, 4)] = (0, -1, info.min, info.max)[: min(count, 4)]  # the edges of both branches
        zp_in, zp_out = (0, 0) if wide else (int(rng.integers(-20, 20)), int(rng.integers(-10, 10)))
        q = leaky_relu_params(0.01, zp_in, slope, 0.01 if same_scale else out_scale, zp_out)
        if fast:  # any exact form, also one the exporter would leave out (no kernel loop)
            q = fast_form(q, kernel_loops_only=False)
        assert (q.fast != 0) == fast
        expected = leaky_relu(x, q, dtype)
        fields = ", ".join(str(getattr(q, f)) for f in q.__dataclass_fields__)
        sfx = "s16" if wide else "s8"
        self._elementwise(name, f"afkd_leaky_relu_{sfx}(&{name}_p, {name}_x, {name}_out, {count})",
                          count, expected, _array(f"{name}_x", x, dtype)
                          + f"static const afkd_leaky_relu_params {name}_p = {{{fields}}};\n")

    def binary(self, op: str, count: int, wide: bool, scales=None, tag: str = "", linear_shifts=None,
               activation: str = "NONE"):
        """``linear_shifts``: int8 ADD in the exporter's proven linear form, searched over these
        shifts (16: the loop with the shift in the SSAT; others: the general loops)."""
        rng = self.rng
        name = f"{op}_{'s16' if wide else 's8'}_{count}{tag}"
        dtype = np.int16 if wide else np.int8
        info = np.iinfo(dtype)
        a, b = (rng.integers(info.min, info.max + 1, count) for _ in range(2))
        zps = (0, 0, 0) if wide else tuple(int(v) for v in rng.integers(-20, 20, 3))
        make = intops.add_params if op == "add" else intops.mul_params
        if scales is None:
            scales = (0.01, 0.013, 0.02) if op == "add" else (0.01, 1 / 32768 if wide else 1 / 256, 0.012)
        q = make(scales[0], zps[0], scales[1], zps[1], scales[2], zps[2], dtype=dtype, activation=activation)
        expected = intops.add(a, b, q) if op == "add" else intops.mul(a, b, q, dtype)
        fields = ", ".join(str(getattr(q, f)) for f in q.__dataclass_fields__)
        if op == "add" and not wide:  # afkd_add_s8_params: TFLite's, then the linear form (0: none)
            linear = [0, 0, 0, 0]
            if linear_shifts is not None:
                form = intops_linear.add_linear_form(q, linear_shifts)
                assert form is not None and form.shift in linear_shifts, (name, form)
                linear = [getattr(form, f) for f in form.__dataclass_fields__]
            fields = "{" + fields + "}, " + ", ".join(str(v) for v in linear)
        sfx = "s16" if wide else "s8"
        ctype = "afkd_add_s8_params" if op == "add" and not wide else f"afkd_{op}_params"
        self._elementwise(name, f"afkd_{op}_{sfx}(&{name}_p, {name}_a, {name}_b, {name}_out, {count})",
                          count, expected, _array(f"{name}_a", a, dtype) + _array(f"{name}_b", b, dtype)
                          + f"static const {ctype} {name}_p = {{{fields}}};\n")

    def prelu_s8(self, count: int, per_channel: bool, linear_shifts=None):
        """``linear_shifts`` as for ``binary``: the exporter's proven one-MLA form."""
        rng = self.rng
        name = (f"prelu_s8_{count}{'_per_channel' if per_channel else ''}"
                f"{'_linear' + str(linear_shifts[0]) if linear_shifts else ''}")
        x = rng.integers(-128, 128, count)
        alpha = rng.integers(-128, 128, count if per_channel else 1)
        q = intops.prelu_params(0.02, int(rng.integers(-20, 20)), alpha, 0.004, int(rng.integers(-5, 5)),
                                0.015, int(rng.integers(-10, 10)))
        expected = intops.prelu(x[None], q)[0]
        alpha_c = q.alpha_minus_zero_point()
        linear = ", 0, 0, 0, 0, 0, 0"  # linear_*: TFLite's form
        if linear_shifts is not None:
            form = intops_linear.prelu_linear_form(q, linear_shifts)
            assert form is not None and form.shift in linear_shifts, (name, form)
            linear = ", " + ", ".join(str(getattr(form, f)) for f in ("shift", "threshold", "k_pos", "c_pos",
                                                                         "k_neg", "c_neg"))
        self._elementwise(name, f"afkd_prelu_s8(&{name}_p, {name}_x, {name}_out)", count, expected,
                          _array(f"{name}_x", x, np.int8) + _array(f"{name}_alpha", alpha_c, np.int16)
                          + f"static const afkd_prelu_s8_params {name}_p = {{{count}, {int(per_channel)}, "
                            f"{name}_alpha, {-q.input_zero_point}, {q.output_zero_point}, {q.multiplier_pos}, "
                            f"{q.shift_pos}, {q.multiplier_neg}, {q.shift_neg}{linear}}};\n")

    def sigmoid_s16(self, count: int):
        rng, name = self.rng, f"sigmoid_s16_{count}"
        x = rng.integers(-32768, 32768, count)
        m, s = intops.sigmoid_params_s16(0.0003)
        expected = intops.sigmoid_s16(x, m, s)
        self._elementwise(name, f"afkd_sigmoid_s16(&{name}_p, {name}_x, {name}_out, {count})", count,
                          expected, _array(f"{name}_x", x, np.int16)
                          + f"static const afkd_sigmoid_s16_params {name}_p = {{{m}, {s}}};\n")

    def source(self) -> str:
        return ("/* Generated by tests/kernel_harness/m4_cases.py: kernel cases for QEMU. */\n"
                "#include <stdint.h>\n\n#include \"afkd_cortex_m.h\"\n#include \"afkd_kernels.h\"\n"
                "#include \"m4_support.h\"\n\n" + "".join(self.decls)
                + "\nstatic int32_t actual[4096];\n\nvoid m4_run_cases(void)\n{\n    uint32_t n;\n"
                + "    cortex_m_counter_start();\n    n = cortex_m_counter_read();\n"
                + '    m4_report("counter_overhead", actual, actual, 0, n, 0u);\n'
                + "".join(self.body) + "}\n")


def standard_cases() -> str:
    cases = Cases(seed=0)
    for wide in (False, True):
        cases.dense("pointwise", 64, 64, wide)
        cases.dense("pointwise", 64, 128, wide)        # with 64x64: cost per MAC and per row
        cases.dense("pointwise", 128, 64, wide)
        cases.dense("pointwise", 7, 13, wide)          # odd sizes: every tail loop
        cases.dense("encoder", 64, 16, wide)
        cases.depthwise(64, wide)
        cases.decoder(64, wide)
        cases.decoder(13, wide)
        cases.dense("pointwise", 30, 18, wide, spread=12.0)   # every output-stage case
        if not wide:  # some shifts positive: int8's general 32-bit output stage, not the right-shift one
            cases.depthwise(64, wide, spread=8.0)
            cases.depthwise(32, wide, relu=True)
        if not wide:  # int16-stored weights (the default storage) in the int8 model too
            cases.dense("pointwise", 32, 32, wide, weights16=True)
            cases.dense("pointwise", 64, 64, wide, weights16=True)
            cases.dense("encoder", 32, 20, wide, weights16=True)
            cases.dense("pointwise", 7, 13, wide, weights16=True)    # the plain-C path
            cases.dense("pointwise", 30, 18, wide, spread=12.0, weights16=True)
            cases.dense("pointwise", 12, 64, wide, spread=12.0, weights16=True)   # 16 blocks
            cases.dense("pointwise", 132, 16, wide, weights16=True)   # more rows than the sums buffer
            cases.dense("pointwise", 8, 72, wide, weights16=True)     # past 64 columns: the C loop
            # int8-stored weights: the assembly accumulation (1 to 16 blocks) and its limits
            for rows, cols in ((8, 4), (12, 28), (28, 12), (16, 64)):
                cases.dense("pointwise", rows, cols, wide, spread=12.0)
            cases.dense("pointwise", 132, 16, wide)   # more rows than the sums buffer: the C loop
            # the whole int8 range as the clamp (no fused activation): the output stage's SSAT form
            cases.dense("pointwise", 12, 28, wide, act="full")
            cases.dense("pointwise", 32, 32, wide, weights16=True, act="full")
            cases.dense("pointwise", 8, 72, wide)     # past 64 columns: the C loop
        if wide:
            cases.dense("pointwise", 9, 32, wide, big_bias=True)  # int64 sums
            # the exporter's default 16x8 layout: int16-stored weights, SMMULR multipliers
            cases.dense("pointwise", 32, 32, wide, weights16=True)
            cases.dense("pointwise", 64, 64, wide, weights16=True)
            cases.dense("pointwise", 12, 20, wide, weights16=True)   # an odd number of blocks
            cases.dense("pointwise", 7, 13, wide, weights16=True)    # the plain-C path
            cases.dense("encoder", 32, 20, wide, weights16=True)
            cases.dense("pointwise", 30, 18, wide, spread=6.0, weights16=True)
            # the assembly group routine: 1 to 16 blocks, both clamps; and the C fast path
            # where it does not apply (no bias, more than 64 columns)
            cases.dense("pointwise", 32, 32, wide, weights16=True, act="full")
            cases.dense("pointwise", 64, 64, wide, weights16=True, act="full")
            cases.dense("pointwise", 8, 4, wide, weights16=True, act="full")
            cases.dense("encoder", 32, 20, wide, weights16=True, act="relu")
            cases.dense("pointwise", 32, 32, wide, weights16=True, act="full", no_bias=True)
            cases.dense("pointwise", 8, 68, wide, weights16=True, act="relu")
            # int8-stored weights (--weight-storage int8) with the exporter's SMMULR multipliers:
            # their assembly group routine, 1 to 16 blocks, both clamps, no bias; and the general
            # loop past 64 columns
            for rows, cols in ((32, 32), (8, 4), (12, 20), (28, 12), (16, 64)):
                cases.dense("pointwise", rows, cols, wide, smmulr=True, act="full")
            cases.dense("encoder", 32, 20, wide, smmulr=True, act="relu")
            cases.dense("pointwise", 12, 28, wide, smmulr=True, act="relu")
            cases.dense("pointwise", 32, 32, wide, smmulr=True, act="full", no_bias=True)
            cases.dense("pointwise", 8, 24, wide, smmulr=True, act="relu", no_bias=True)
            cases.dense("pointwise", 8, 68, wide, smmulr=True, act="relu")
            cases.depthwise(32, wide, weights16=True)
            cases.depthwise(6, wide, weights16=True)    # an odd number of channel pairs
            cases.depthwise(2, wide, weights16=True)
            cases.depthwise(13, wide, weights16=True)   # odd channels: the C loop
            # fused with the leaky ReLU after it: each routine's form, then one it has not
            for form in ((0.01, 0.2), (0.01, 0.7), (0.008, 0.2), (0.005, 0.2), (0.008, 0.6), (0.0035, 0.1)):
                cases.depthwise(32, wide, weights16=True, leaky=form)
            cases.depthwise(6, wide, weights16=True, leaky=(0.01, 0.2))
            cases.decoder(32, wide, weights16=True)
            cases.decoder(13, wide, weights16=True)
            cases.decoder(32, wide, weights16=True, tail32=True)   # the assembly accumulation
            cases.decoder(13, wide, weights16=True, tail32=True)   # odd channels: the C loop
        # the student's sizes (N = B = H = 32, encoder L = 20), for the per-kernel table
        cases.dense("pointwise", 32, 32, wide)
        cases.dense("encoder", 32, 20, wide)
        cases.depthwise(32, wide)
        cases.decoder(32, wide)
        cases.leaky_relu(32, wide)
        cases.leaky_relu(32, wide, same_scale=True)
        if wide:  # each of the fast form's loops, an odd count for the last word and value
            for out_scale, slope in ((0.01, 0.2), (0.01, 0.7), (0.03, 0.2), (0.03, 2.0), (0.008, 0.2),
                                     (0.005, 0.2), (0.0035, 0.1), (0.008, 0.6), (0.005, 0.3), (0.0027, 0.1),
                                     (0.0025, 0.15)):
                cases.leaky_relu(32, wide, fast=True, out_scale=out_scale, slope=slope)
            cases.leaky_relu(7, wide, fast=True, out_scale=0.01, slope=0.2)
        cases.binary("add", 32, wide)
        cases.binary("mul", 32, wide)
        cases.binary("add", 16, wide, scales=(0.02, 0.02, 0.03), tag="_equal_scales")
        cases.binary("add", 16, wide, scales=(0.03, 0.01, 0.025), tag="_first_larger")
        cases.binary("add", 32, wide, scales=(0.011, 0.03, 0.03), tag="_output_at_larger_scale")
    cases.sigmoid_s16(32)
    cases.prelu_s8(32, per_channel=True)
    cases.prelu_s8(32, per_channel=False)
    cases.prelu_s8(32, per_channel=False, linear_shifts=(16,))   # the shift the exporter tries first
    cases.prelu_s8(31, per_channel=False, linear_shifts=(19, 20, 21))   # another, an odd count
    # the student's residual ADDs: the output at one input's scale, where shift 16 holds
    cases.binary("add", 32, False, scales=(0.01, 0.013, 0.013), tag="_linear16", linear_shifts=(16,))
    cases.binary("add", 31, False, scales=(0.011, 0.017, 0.023), tag="_linear_wide_shift",
                 linear_shifts=tuple(range(17, 25)))
    cases.binary("add", 32, False, scales=(0.01, 0.013, 0.013), tag="_linear_relu", linear_shifts=(16,),
                 activation="RELU")
    return cases.source()
