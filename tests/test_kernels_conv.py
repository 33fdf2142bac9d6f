"""Conv kernels (pointwise, encoder, depthwise, decoder) against TFLite and TFLM, bit for bit.

Each case converts a one-op Keras model to int8 or int16x8, runs it in the TFLite reference
interpreter, TFLite's default builtin kernels and TFLM (which must agree), and checks
export/intops.py and the host-compiled C kernel against it.
"""

from __future__ import annotations

import ctypes as C

import numpy as np
import pytest

from afkd.export import intops, intops_pack
from tests.kernel_harness import clib, conv_cases, tflite_ops
from tests.kernel_harness.tflite_ops import assert_same


@pytest.fixture(scope="module", params=["portable", "dsp_emulated"])
def lib(request, tmp_path_factory):
    """The portable C build and the Cortex-M4 DSP loops (run on C models of SMLAD/SXTB16)."""
    return clib.build(tmp_path_factory.mktemp("afkd_kernels"),
                      dsp_emulation=request.param == "dsp_emulated")


def _convert_and_run(kind, mode, cin, cout, dilation=1, relu=False, seed=0):
    model = conv_cases.conv_model(kind, cin, cout, dilation=dilation, relu=relu, seed=seed)
    flatbuffer = tflite_ops.convert(model, mode, seed=seed)
    case = conv_cases.extract(flatbuffer, kind, relu)
    assert case["ops"] == [conv_cases.OP_NAME[kind]], case["ops"]
    rng = np.random.default_rng(seed + 1)
    x = tflite_ops.random_input(tflite_ops.input_order(flatbuffer)[0], rng)
    outputs = tflite_ops.run_all(flatbuffer, [x])
    expected = outputs["tflite_ref"]
    assert_same(outputs["tflm"], expected, f"{kind} {mode}: TFLM vs TFLite reference")
    tflite_ops.note_builtin_disagreement(outputs, f"{kind} {mode}")
    return case, x.reshape(x.shape[2], x.shape[3]), expected


#: 16x8 flash layouts the kernels read (export/codegen.py WEIGHT_STORAGE): packed int8 weights
#: with (m16, ts), packed int8 with SMMULR multipliers, int16-stored weights with SMMULR ones.
LAYOUTS_S16 = ("int8", "int8_smmulr", "int16")


def _dense_params(case, keep, bias_offset: int = 0, layout: str = "int8"):
    """Kernel parameters with the weights packed as the exporter packs them; bias_offset (16x8)
    is added to row 0's bias, far enough for the kernel's int64 path."""
    rows, cols = case["weights"].shape
    wide = case["dtype"] != np.int8
    common = dict(rows=rows, cols=cols, act_min=case["act_min"], act_max=case["act_max"])
    smmulr = layout != "int8"
    m32 = None
    if wide and smmulr:
        m32 = intops_pack.smmulr_multiplier_s16(*intops_pack.reduced_multiplier_s16(case["multiplier"], case["shift"]))
    if layout == "int16" and (m32 is not None or not wide) and not bias_offset:
        common["weights16"] = keep.ptr(intops_pack.pack_dense_weights16(case["weights"]), np.int16, C.c_int16)
    else:
        common["weights"] = keep.ptr(intops_pack.pack_dense_weights(case["weights"], wide), np.int8, C.c_int8)
    if not wide:
        bias = intops.fold_input_offset(case["bias"], case["weights"], case["input_zero_point"])
        return clib.DenseS8(bias=keep.ptr(bias, np.int32, C.c_int32),
                            multiplier=keep.ptr(case["multiplier"], np.int32, C.c_int32),
                            shift=keep.ptr(case["shift"], np.int32, C.c_int32),
                            output_offset=case["output_zero_point"],
                            requant_32bit=intops_pack.requant_mode_s8(bias, cols, case["shift"], case["act_min"],
                                                                      case["act_max"]),
                            **common)
    bias = (np.zeros(rows, np.int64) if case["bias"] is None else case["bias"]).astype(np.int64)
    bias[0] += bias_offset                 # one row is enough to need int64 sums
    return clib.DenseS16(**clib.wide_stage(keep, bias, case["multiplier"], case["shift"], rows, cols, smmulr),
                         **common)


def _intops_args(case):
    return dict(input_zero_point=case["input_zero_point"], multiplier=case["multiplier"],
                shift=case["shift"], output_zero_point=case["output_zero_point"],
                act_min=case["act_min"], act_max=case["act_max"])


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("cin,cout,relu", [(8, 12, False), (16, 5, True), (7, 4, False)])
def test_pointwise_matches_tflite(lib, mode, cin, cout, relu):
    case, frames, expected = _convert_and_run("pointwise", mode, cin, cout, relu=relu)
    expected = expected.reshape(frames.shape[0], cout)
    assert_same(intops.pointwise(frames, case["weights"], case["bias"], **_intops_args(case)),
                expected, "intops.pointwise")
    keep = clib.Keep()
    suffix = "s8" if mode == "int8" else "s16"
    for layout in ("int8", "int16") if mode == "int8" else LAYOUTS_S16:
        actual = clib.call_frames(getattr(lib, f"afkd_pointwise_{suffix}"),
                                  _dense_params(case, keep, layout=layout), frames, cout)
        assert_same(actual, expected, f"afkd_pointwise_{suffix} ({layout} layout)")
        if mode == "int16" and layout == "int16" and cin % 4 == 0 and cout % 4 == 0:  # the exporter's checked entry
            actual = clib.call_frames(lib.afkd_pointwise_s16_w16, _dense_params(case, keep, layout=layout),
                                      frames, cout)
            assert_same(actual, expected, "afkd_pointwise_s16_w16")


def test_pointwise_s16_int64_bias_path(lib):
    """A bias too large for int32 sums sends the 16x8 kernel down its int64 path; the bits
    must still be TFLite's formula (intops, itself checked against TFLite above)."""
    case, frames, _ = _convert_and_run("pointwise", "int16", 7, 9)
    offset = (1 << 31) + 12345              # TFLite needs the requantized value in int32
    keep = clib.Keep()
    params = _dense_params(case, keep, bias_offset=offset)
    assert params.bias64 and not params.bias
    bias = (np.zeros(9, np.int64) if case["bias"] is None else case["bias"]).astype(np.int64)
    bias[0] += offset
    expected = intops.pointwise(frames, case["weights"], bias, **_intops_args(case))
    assert_same(clib.call_frames(lib.afkd_pointwise_s16, params, frames, 9), expected,
                "afkd_pointwise_s16 (int64 bias)")


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("channels", [6, 16])
def test_encoder_matches_tflite(lib, mode, channels):
    case, signal, expected = _convert_and_run("encoder", mode, 1, channels)
    signal = signal.ravel()
    frames = expected.shape[2]
    expected = expected.reshape(frames, channels)
    assert_same(intops.encoder(signal, case["weights"], case["bias"], 8, **_intops_args(case)),
                expected, "intops.encoder")
    keep = clib.Keep()
    suffix = "s8" if mode == "int8" else "s16"
    function = getattr(lib, f"afkd_encoder_{suffix}")
    ctype = clib.CTYPE[signal.dtype]
    for layout in ("int8", "int16") if mode == "int8" else LAYOUTS_S16:
        params = _dense_params(case, keep, layout=layout)
        actual = np.zeros_like(expected)
        for t in range(frames):                      # the caller slides the window by the stride
            window = np.ascontiguousarray(signal[t * 8: t * 8 + 16])
            function(C.byref(params), clib.ptr(window, ctype), clib.ptr(actual[t], ctype))
        assert_same(actual, expected, f"afkd_encoder_{suffix} ({layout} layout)")


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("channels,dilation,relu", [(8, 1, False), (5, 4, True), (12, 32, False)])
def test_depthwise_matches_tflite(lib, mode, channels, dilation, relu):
    case, frames, expected = _convert_and_run("depthwise", mode, channels, channels,
                                              dilation=dilation, relu=relu)
    expected = expected.reshape(-1, channels)
    assert_same(intops.depthwise(frames, case["weights"], case["bias"], dilation,
                                 **_intops_args(case)), expected, "intops.depthwise")
    keep = clib.Keep()
    common = dict(channels=channels, taps=3,
                  weights=keep.ptr(case["weights"], np.int8, C.c_int8),
                  act_min=case["act_min"], act_max=case["act_max"])
    layouts = [("int8", None)]
    if mode == "int8":
        bias = intops.fold_input_offset(case["bias"], case["weights"].T, case["input_zero_point"])
        params = clib.DepthwiseS8(bias=keep.ptr(bias, np.int32, C.c_int32),
                                  multiplier=keep.ptr(case["multiplier"], np.int32, C.c_int32),
                                  shift=keep.ptr(case["shift"], np.int32, C.c_int32),
                                  output_offset=case["output_zero_point"],
                                  requant_32bit=intops_pack.requant_mode_s8(bias, 3, case["shift"], case["act_min"],
                                                                             case["act_max"]),
                                  **common)
        layouts = [("int8", params)]
    else:
        stage = clib.wide_stage(keep, case["bias"], case["multiplier"], case["shift"], channels, 3)
        layouts = [("int8", clib.DepthwiseS16(**stage, **common))]
        smmulr = clib.wide_stage(keep, case["bias"], case["multiplier"], case["shift"], channels, 3, True)
        if "multiplier32" in smmulr:             # the exporter's int16 layout needs SMMULR multipliers
            w16 = intops_pack.pack_depthwise_weights16(case["weights"])
            layouts.append(("int16", clib.DepthwiseS16(
                **smmulr, **dict(common, weights=None, weights16=keep.ptr(w16, np.int16, C.c_int16)))))
    suffix = "s8" if mode == "int8" else "s16"
    ctype = clib.CTYPE[frames.dtype]
    frames = np.ascontiguousarray(frames)
    for layout, params in layouts:
        actual = np.zeros_like(expected)
        for t in range(expected.shape[0]):          # causal frame t + 2d reads t, t+d, t+2d
            taps = (C.POINTER(ctype) * 3)(*[clib.ptr(frames[t + k * dilation], ctype)
                                            for k in range(3)])
            getattr(lib, f"afkd_depthwise_{suffix}")(C.byref(params), taps,
                                                     clib.ptr(actual[t], ctype))
        assert_same(actual, expected, f"afkd_depthwise_{suffix} ({layout} layout)")


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("channels", [8, 13])
def test_decoder_matches_tflite(lib, mode, channels):
    case, frames, expected = _convert_and_run("decoder", mode, channels, 1)
    expected = expected.ravel()                  # ((T-1)*8 + 16,)
    bias = None if case["bias"] is None else int(case["bias"][0])
    assert_same(intops.transpose_conv(frames, case["weights"], bias, 8,
                                      input_zero_point=case["input_zero_point"],
                                      multiplier=case["multiplier"][0], shift=case["shift"][0],
                                      output_zero_point=case["output_zero_point"],
                                      act_min=case["act_min"], act_max=case["act_max"]),
                expected, "intops.transpose_conv")
    keep = clib.Keep()
    weights = case["weights"] if mode == "int8" else intops_pack.pack_dense_weights(case["weights"], True)
    common = dict(channels=channels, kernel=16, stride=8, weights=keep.ptr(weights, np.int8, C.c_int8),
                  bias=bias or 0, multiplier=int(case["multiplier"][0]),
                  shift=int(case["shift"][0]), act_min=case["act_min"], act_max=case["act_max"])
    if mode == "int8":
        offsets = intops.decoder_tap_offsets(case["weights"], case["input_zero_point"])
        params = clib.DecoderS8(tap_offset=keep.ptr(offsets, np.int32, C.c_int32),
                                output_offset=case["output_zero_point"], **common)
        suffix = "s8"
        layouts = [("int8", params)]
    else:
        w16 = keep.ptr(intops_pack.pack_dense_weights16(case["weights"]), np.int16, C.c_int16)
        layouts = [("int8", clib.DecoderS16(**common)),
                   ("int16", clib.DecoderS16(**dict(common, weights=None, weights16=w16)))]
        suffix = "s16"
        # the exported layout where the exporter proves an int32 tail exact: afkd_decoder_s16_tail32
        m32 = intops_pack.decoder_multiplier32_s16(common["multiplier"], common["shift"], common["bias"], 16, 8,
                                                   channels)
        assert m32 is not None
        layouts.append(("int16, int32 tail", clib.DecoderS16(**dict(common, weights=None, weights16=w16,
                                                                     multiplier32=m32))))
    # One extra frame of real zeros (the input zero point) flushes the last 8 samples.
    flush = np.full((1, channels), case["input_zero_point"], frames.dtype)
    stream = np.ascontiguousarray(np.concatenate([frames, flush]))
    ctype = clib.CTYPE[frames.dtype]
    for layout, params in layouts:
        tail32 = layout.endswith("int32 tail")
        tail = np.zeros(16, np.int32 if mode == "int8" or tail32 else np.int64)
        actual = np.zeros((stream.shape[0], 8), frames.dtype)
        kernel = getattr(lib, f"afkd_decoder_{suffix}{'_tail32' if tail32 else ''}")
        for t in range(stream.shape[0]):
            kernel(C.byref(params), clib.ptr(stream[t], ctype), clib.ptr(tail, clib.CTYPE[tail.dtype]),
                   clib.ptr(actual[t], ctype))
        assert_same(actual.ravel(), expected, f"afkd_decoder_{suffix} ({layout} layout)")
