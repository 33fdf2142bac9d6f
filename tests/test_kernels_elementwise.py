"""Element-wise kernels (PReLU, sigmoid, add, mul) against TFLite and TFLM, bit for bit."""

from __future__ import annotations

import ctypes as C

import numpy as np
import pytest

from afkd.export import intops, intops_linear
from afkd.export.intops_leaky import LeakyReluParams
from tests.kernel_harness import clib, tflite_ops
from tests.kernel_harness.conv_cases import randomize
from tests.kernel_harness.tflite_ops import assert_same

FRAMES, CHANNELS = 32, 6


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    return clib.build(tmp_path_factory.mktemp("afkd_kernels"))


def _run(model, mode, op_name, seed=0, scale=1.0):
    flatbuffer = tflite_ops.convert(model, mode, seed=seed, scale=scale)
    op = tflite_ops.TfliteOp(flatbuffer, op_name)
    rng = np.random.default_rng(seed + 7)
    inputs = [tflite_ops.random_input(d, rng) for d in tflite_ops.input_order(flatbuffer)]
    outputs = tflite_ops.run_all(flatbuffer, inputs)
    assert_same(outputs["tflm"], outputs["tflite_ref"], f"{op_name} {mode}: TFLM vs TFLite ref")
    tflite_ops.note_builtin_disagreement(outputs, f"{op_name} {mode}")
    return op, inputs, outputs["tflite_ref"]


def _quant(t):
    return float(t["scales"][0]), int(t["zero_points"][0])


@pytest.mark.parametrize("per_channel,linear", [(False, False), (True, False), (False, True)])
def test_prelu_s8_matches_tflite(lib, per_channel, linear):
    """TFLite's form, and (shared slope) the exporter's proven one-MLA form: both give TFLite's
    bits. Per-channel slopes have no linear form (one would be a table per channel)."""
    import keras

    x = keras.Input(shape=(1, FRAMES, CHANNELS), batch_size=1)
    layer = keras.layers.PReLU(shared_axes=[1, 2] if per_channel else [1, 2, 3])
    model = keras.Model(x, layer(x))
    layer.set_weights([np.random.default_rng(3).uniform(-0.5, 0.8, layer.get_weights()[0].shape)
                       .astype(np.float32)])
    op, (values,), expected = _run(model, "int8", "PRELU")
    alpha = op.tensor(1)
    params = intops.prelu_params(*_quant(op.tensor(0)), alpha["value"], *_quant(alpha),
                                 *_quant(op.output()))
    frames = values.reshape(FRAMES, CHANNELS)
    expected = expected.reshape(FRAMES, CHANNELS)
    assert_same(intops.prelu(frames, params), expected, "intops.prelu")
    keep = clib.Keep()
    c_params = clib.PreluS8(
        channels=CHANNELS, alpha_per_channel=int(len(params.alpha) > 1),
        alpha=keep.ptr(params.alpha_minus_zero_point(), np.int16, C.c_int16),
        input_offset=-params.input_zero_point, output_offset=params.output_zero_point,
        multiplier_pos=params.multiplier_pos, shift_pos=params.shift_pos,
        multiplier_neg=params.multiplier_neg, shift_neg=params.shift_neg)
    form = intops_linear.prelu_linear_form(params)
    assert (form is None) == per_channel
    if linear:
        assert_same(intops_linear.prelu_linear(values, form).reshape(FRAMES, CHANNELS), expected,
                    "intops_linear.prelu_linear")
        for name in form.__dataclass_fields__:
            setattr(c_params, f"linear_{name}", getattr(form, name))
    assert_same(clib.call_frames(lib.afkd_prelu_s8, c_params, frames, CHANNELS), expected,
                f"afkd_prelu_s8{' (linear form)' if linear else ''}")


def test_prelu_has_no_16x8_conversion():
    """Recorded limitation: TFLite's 16x8 quantizer rejects PRELU (decompose it instead)."""
    import keras

    x = keras.Input(shape=(1, FRAMES, CHANNELS), batch_size=1)
    model = keras.Model(x, keras.layers.PReLU(shared_axes=[1, 2])(x))
    with pytest.raises(Exception, match="PRELU"):
        tflite_ops.convert(model, "int16")


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("scale", [0.5, 4.0])
def test_sigmoid_matches_tflite(lib, mode, scale):
    import keras

    x = keras.Input(shape=(1, FRAMES, CHANNELS), batch_size=1)
    model = keras.Model(x, keras.layers.Activation("sigmoid")(x))
    op, (values,), expected = _run(model, mode, "LOGISTIC", scale=scale)
    values, expected = values.ravel(), expected.ravel()
    if mode == "int16":   # add every int16 value near 0 and the extremes to the random ones
        values = np.concatenate([values, np.arange(-32768, 32768, 7, dtype=np.int16)])
        expected = None
    scale_in, zero_point = _quant(op.tensor(0))
    if mode == "int8":
        table = intops.sigmoid_table_s8(scale_in, zero_point)
        assert_same(intops.sigmoid_s8(values, table), expected, "intops.sigmoid_s8")
        actual = clib.call_elementwise(lib.afkd_sigmoid_s8,
                                       (C.c_int8 * 256)(*table.tolist()), values)
        assert_same(actual, expected, "afkd_sigmoid_s8")
        return
    multiplier, left_shift = intops.sigmoid_params_s16(scale_in, zero_point)
    flatbuffer_expected = _logistic_s16_reference(op, values)
    assert_same(intops.sigmoid_s16(values, multiplier, left_shift), flatbuffer_expected,
                "intops.sigmoid_s16")
    actual = clib.call_elementwise(lib.afkd_sigmoid_s16,
                                   clib.SigmoidS16(multiplier, left_shift), values)
    assert_same(actual, flatbuffer_expected, "afkd_sigmoid_s16")


def _logistic_s16_reference(op, values):
    """Run the converted model's LOGISTIC on `values` (chunks of its input size)."""
    size = int(np.prod(op.tensor(0)["shape"]))
    padded = np.concatenate([values, np.zeros(-len(values) % size, np.int16)])
    chunks = []
    for chunk in padded.reshape(-1, size):
        outputs = tflite_ops.run_all(op.flatbuffer, [chunk.reshape(op.tensor(0)["shape"])])
        assert_same(outputs["tflm"], outputs["tflite_ref"], "LOGISTIC int16: TFLM vs TFLite")
        chunks.append(outputs["tflite_ref"].ravel())
    return np.concatenate(chunks)[: len(values)]


def _binary_model(kind):
    """y = conv(x) (op) x: two inputs with different quantizations into ADD / MUL."""
    import keras

    x = keras.Input(shape=(1, FRAMES, CHANNELS), batch_size=1)
    other = keras.layers.Conv2D(CHANNELS, 1)(x)
    merge = keras.layers.Add() if kind == "add" else keras.layers.Multiply()
    model = keras.Model(x, merge([other, x]))
    randomize(model, seed=5, weight_scale=1.5)
    return model


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("kind", ["add", "mul"])
def test_add_mul_match_tflite(lib, mode, kind):
    model = _binary_model(kind)
    flatbuffer = tflite_ops.convert(model, mode)
    op = tflite_ops.TfliteOp(flatbuffer, kind.upper())
    a_q, b_q, out_q = op.tensor(0), op.tensor(1), op.output()
    dtype = np.int8 if mode == "int8" else np.int16
    rng = np.random.default_rng(11)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max + 1, 4096).astype(dtype)
    b = rng.integers(info.min, info.max + 1, 4096).astype(dtype)
    expected = _run_binary(op, a, b)
    if kind == "add":
        params = intops.add_params(*_quant(a_q), *_quant(b_q), *_quant(out_q), dtype=dtype)
        assert_same(intops.add(a, b, params), expected, "intops.add")
        c_params = clib.add_params_for(params, dtype)
    else:
        params = intops.mul_params(*_quant(a_q), *_quant(b_q), *_quant(out_q), dtype=dtype)
        assert_same(intops.mul(a, b, params, dtype), expected, "intops.mul")
        c_params = clib.MulParams(**params.__dict__)
    suffix = "s8" if mode == "int8" else "s16"
    actual = clib.call_elementwise(getattr(lib, f"afkd_{kind}_{suffix}"), c_params, a, b)
    assert_same(actual, expected, f"afkd_{kind}_{suffix}")
    if kind == "add" and mode == "int8":  # the exporter's proven two-MLA form, against TFLite too
        form = intops_linear.add_linear_form(params)
        assert form is not None
        for name in form.__dataclass_fields__:
            setattr(c_params, f"linear_{name}", getattr(form, name))
        actual = clib.call_elementwise(lib.afkd_add_s8, c_params, a, b)
        assert_same(actual, expected, "afkd_add_s8 (linear form)")


def _run_binary(op, a, b):
    """The ADD/MUL op alone on arbitrary a, b: rebuild a two-input model around it."""
    from tests.kernel_harness.isolate import run_isolated_binary

    return run_isolated_binary(op.flatbuffer, op.op, a, b)


class LeakyParams(C.Structure):
    # afkd_leaky_relu_params: every field an int32, in the dataclass's order
    _fields_ = [(name, C.c_int32) for name in LeakyReluParams.__dataclass_fields__]


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("slope", [0.2, 0.013])
def test_leaky_relu_matches_tflite(lib, mode, slope):
    import keras

    from afkd.export.intops_leaky import leaky_relu, leaky_relu_params

    x = keras.Input(shape=(1, FRAMES, CHANNELS), batch_size=1)
    model = keras.Model(x, keras.layers.LeakyReLU(negative_slope=slope)(x))
    op, (values,), expected = _run(model, mode, "LEAKY_RELU")
    params = leaky_relu_params(*_quant(op.tensor(0)), slope, *_quant(op.output()), int16=mode == "int16")
    assert params.fast == 0 if mode == "int8" else params.fast != 0  # the 16x8 graph takes the fast form
    dtype = np.int8 if mode == "int8" else np.int16
    assert_same(leaky_relu(values, params, dtype), expected, "intops_leaky.leaky_relu")
    suffix = "s8" if mode == "int8" else "s16"
    actual = clib.call_elementwise(getattr(lib, f"afkd_leaky_relu_{suffix}"),
                                   LeakyParams(**params.__dict__), values)
    assert_same(actual, expected.ravel(), f"afkd_leaky_relu_{suffix}")


@pytest.mark.parametrize("mode", ["int8", "int16"])
def test_add_general_path_matches_intops(lib, mode):
    """ADD parameters outside the fast path's form (neither input's factor exactly 1/2, nonzero
    offsets in 16x8) take the general loop; it must give intops.add's bits too."""
    dtype = np.int8 if mode == "int8" else np.int16
    info = np.iinfo(dtype)
    rng = np.random.default_rng(12)
    a = rng.integers(info.min, info.max + 1, 2048).astype(dtype)
    b = rng.integers(info.min, info.max + 1, 2048).astype(dtype)
    left_shift = 20 if mode == "int8" else 15
    # int8 also has a prepared 32-bit fast loop; a positive input shift (factor ~1.4, which
    # int8's 2^28 headroom allows) is what sends it to the general loop.
    input2_shift = 1 if mode == "int8" else -1
    params = intops.AddParams(input1_offset=3, input2_offset=-5, output_offset=2, left_shift=left_shift,
                              input1_multiplier=1 << 29, input1_shift=0,          # 1/4, not 1/2
                              input2_multiplier=1_500_000_000, input2_shift=input2_shift,
                              output_multiplier=1_200_000_000, output_shift=-left_shift + 2 - (mode == "int8"),
                              act_min=int(info.min), act_max=int(info.max))
    expected = intops.add(a, b, params)
    assert len(set(expected.tolist())) > 100  # the case exercises the whole range, not a clamp
    suffix = "s8" if mode == "int8" else "s16"
    actual = clib.call_elementwise(getattr(lib, f"afkd_add_{suffix}"), clib.add_params_for(params, dtype), a, b)
    assert_same(actual, expected, f"afkd_add_{suffix} general path")


# (output scale, slope) with the input scale 0.01 -> fast * 100 + neg_whole * 10 + pos_whole,
# each whole = round(that branch's factor): every loop of afkd_leaky16_fast, and 214 its
# value-by-value default
FAST_LEAKY_CASES = {(0.01, 0.2): 100, (0.01, 0.7): 110, (0.01, -0.1): 100, (0.01, 0.0): 100,
                    (0.03, 0.2): 200, (0.008, 0.2): 201, (0.005, 0.2): 202, (0.0035, 0.1): 203,
                    (0.0027, 0.1): 204, (0.03, 2.0): 210, (0.008, 0.6): 211, (0.005, 0.3): 212,
                    (0.0025, 0.15): 214}


def test_leaky_relu_s16_fast_form_every_value(lib):
    """The one-SMLAW form the exporter proves (intops_leaky.fast_form): each of the kernel's
    loops, through its NumPy twin and the C kernel, equals TFLite's form on every int16 value."""
    from afkd.export.intops_leaky import fast_form, leaky_relu, leaky_relu_fast, leaky_relu_params

    values = np.arange(-32768, 32768, dtype=np.int16)
    for (out_scale, slope), key in FAST_LEAKY_CASES.items():
        # any exact form (the exporter keeps only those with a kernel loop: not 214)
        params = fast_form(leaky_relu_params(0.01, 0, slope, out_scale, 0), kernel_loops_only=False)
        exported = leaky_relu_params(0.01, 0, slope, out_scale, 0, int16=True)
        assert exported == (params if key != 214 else leaky_relu_params(0.01, 0, slope, out_scale, 0))
        got_key = params.fast * 100 + params.fast_neg_whole * 10 + params.fast_pos_whole
        assert got_key == key, (out_scale, slope, params)
        expected = leaky_relu(values, params, np.int16)
        assert_same(leaky_relu_fast(values, params), expected, f"leaky_relu_fast ({out_scale}, {slope})")
        actual = clib.call_elementwise(lib.afkd_leaky_relu_s16, LeakyParams(**params.__dict__), values)
        assert_same(actual, expected, f"afkd_leaky_relu_s16 fast {key} (output scale {out_scale}, slope {slope})")


def test_leaky_relu_fast_form_refused_where_it_cannot_hold():
    """No fast form with zero points (int8), or where the positive factor needs more than
    MAX_WHOLE additions; a wrong form is never returned (the exhaustive check)."""
    from afkd.export import intops_leaky

    assert intops_leaky.leaky_relu_params(0.01, 3, 0.2, 0.01, 0, int16=True).fast == 0
    assert intops_leaky.leaky_relu_params(0.01, 0, 0.2, 0.01 / 4.6, 0, int16=True).fast == 0
    params = intops_leaky.leaky_relu_params(0.01, 0, 0.2, 0.008, 0, int16=True)
    broken = intops_leaky.replace(params, fast_neg_round=params.fast_neg_round + (1 << 15))
    assert not np.array_equal(intops_leaky.leaky_relu_fast(intops_leaky.INT16_VALUES, broken),
                              intops_leaky.leaky_relu(intops_leaky.INT16_VALUES, params, np.int16))


def test_leaky_relu_s16_every_value_in_each_loop(lib):
    """The 16x8 kernel's TFLite-form loops (taken where no fast form exists): v >= 0 copied when
    the output keeps the input's scale, the converter's usual choice; a shorter rounding for
    slopes >= 0; on every int16 value."""
    from afkd.export.intops_leaky import leaky_relu, leaky_relu_params

    values = np.arange(-32768, 32768, dtype=np.int16)
    # each (scale, slope) picks one of the kernel's four 16x8 loops: same scale or not, slope
    # >= 0 (the shorter rounding of the negative branch) or not
    for out_scale, slope in ((0.01, 0.2), (0.01, 0.013), (0.01, -0.1), (0.008, 0.2), (0.008, -0.1)):
        params = leaky_relu_params(0.01, 0, slope, out_scale, 0)
        same = (params.multiplier_identity, params.shift_identity) == (1 << 30, 1)
        assert same == (out_scale == 0.01)
        actual = clib.call_elementwise(lib.afkd_leaky_relu_s16, LeakyParams(**params.__dict__), values)
        assert_same(actual, leaky_relu(values, params, np.int16),
                    f"afkd_leaky_relu_s16 (output scale {out_scale}, slope {slope})")


def test_mul_s16_fast_loop_edges_match_intops(lib):
    """The 16x8 MUL loop (one SMLAL for TFLite's doubling high mul, two values a word): the
    product 2^30 of -32768 * -32768, both signs, an odd count, no right shift, and a clamp."""
    rng = np.random.default_rng(5)
    a = np.concatenate([[-32768, -32768, 32767, -1, 0, 1], rng.integers(-32768, 32768, 995)]).astype(np.int16)
    b = np.concatenate([[-32768, 32767, -32768, 1, 5, -1], rng.integers(-32768, 32768, 995)]).astype(np.int16)
    small = (a // 200, b // 200)  # products below 2^15: no right shift needed
    for multiplier, shift, lo, hi, (x, y) in ((1_500_000_001, -15, -32768, 32767, (a, b)),
                                              (1_073_741_825, -16, -32768, 32767, (a, b)),
                                              (1_999_999_999, 0, -32768, 32767, small),
                                              (1_300_000_003, -15, -1000, 20000, (a, b))):
        params = intops.MulParams(0, 0, 0, multiplier, shift, lo, hi)
        expected = intops.mul(x, y, params, np.int16)
        assert len(set(expected.tolist())) > 50
        actual = clib.call_elementwise(lib.afkd_mul_s16, clib.MulParams(**params.__dict__), x, y)
        assert_same(actual, expected, f"afkd_mul_s16 (multiplier {multiplier}, shift {shift})")


@pytest.mark.parametrize("scales", [(0.02, 0.013, 0.02), (0.011, 0.03, 0.03), (0.02, 0.02, 0.02)])
def test_add_s16_output_at_the_larger_input_scale(lib, scales):
    """The residual sum's usual 16x8 form (output scale = the larger input's: output multiplier
    2^30, shift -13) takes a loop with TFLite's output stage as one rounding; every int16 value
    of each input against a spread of the other, and the extremes, bit for bit with intops.add."""
    params = intops.add_params(scales[0], 0, scales[1], 0, scales[2], 0, dtype=np.int16)
    assert (params.output_multiplier, params.output_shift) == (1 << 30, -13)
    every = np.arange(-32768, 32768, dtype=np.int16)
    spread = np.concatenate([[-32768, -32767, -2, -1, 0, 1, 2, 32766, 32767],
                             np.random.default_rng(3).integers(-32768, 32768, 23)]).astype(np.int16)
    a = np.concatenate([np.repeat(every, 4), np.tile(spread, 65536 // 8)]).astype(np.int16)
    b = np.concatenate([np.tile(spread[:4], 65536), np.repeat(every[::8], spread.size)]).astype(np.int16)[: a.size]
    expected = intops.add(a, b, params)
    actual = clib.call_elementwise(lib.afkd_add_s16, clib.AddParams(**params.__dict__), a, b)
    assert_same(actual, expected, f"afkd_add_s16 (scales {scales})")
    swapped = clib.call_elementwise(lib.afkd_add_s16, clib.AddParams(**params.__dict__), b, a)
    assert_same(swapped, intops.add(b, a, params), f"afkd_add_s16 swapped (scales {scales})")
