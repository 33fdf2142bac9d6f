"""The one-window kernels (beat CNN) against TFLM, bit for bit: CONV_2D over a padded window
(SAME and VALID, strides, fused ReLU), MAX_POOL_2D, MEAN and SUB (element-wise and one
broadcast value), int8 and int16x8. Each case converts a one-op Keras model, runs TFLM (the
firmware's reference; in int8 TFLite's reference kernels must agree) and checks the NumPy
twin (export/intops_window.py) and the host-compiled C kernel against it."""

from __future__ import annotations

import ctypes as C

import numpy as np
import pytest

from afkd.export import intops, intops_window
from tests.kernel_harness import clib, conv_cases, tflite_ops
from tests.kernel_harness.tflite_ops import assert_same
from test_kernels_conv import _dense_params

SUFFIX = {"int8": "s8", "int16": "s16"}


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    return clib.build(tmp_path_factory.mktemp("afkd_window_kernels"))


def _run(model, mode: str, op_name: str, seed: int):
    """Convert, run TFLM on random full-range inputs; (flatbuffer, op, inputs, TFLM output)."""
    flatbuffer = tflite_ops.convert(model, mode, seed=seed)
    op = tflite_ops.TfliteOp(flatbuffer, op_name)
    rng = np.random.default_rng(seed + 1)
    inputs = [tflite_ops.random_input(d, rng) for d in tflite_ops.input_order(flatbuffer)]
    outputs = tflite_ops.run_all(flatbuffer, inputs)
    if mode == "int8":
        assert_same(outputs["tflite_ref"], outputs["tflm"], f"{op_name} {mode}: TFLite reference vs TFLM")
    return op, inputs, outputs["tflm"]


def _quant(tensor) -> tuple[float, int]:
    return float(tensor["scales"][0]), int(tensor["zero_points"][0])


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("steps,cin,cout,kernel,stride,padding,relu", [
    (40, 1, 8, 7, 1, "same", True),     # the beat CNN's first stage
    (20, 8, 16, 4, 1, "same", True),    # an even kernel pads one more after
    (19, 5, 6, 3, 2, "same", False),    # strided, odd length
    (16, 4, 4, 5, 1, "valid", False),
])
def test_conv_window_matches_tflm(lib, mode, steps, cin, cout, kernel, stride, padding, relu):
    import keras

    x = keras.Input(shape=(1, steps, cin), batch_size=1)
    y = keras.layers.Conv2D(cout, (1, kernel), strides=(1, stride), padding=padding,
                            activation="relu" if relu else None)(x)
    model = keras.Model(x, y)
    conv_cases.randomize(model, seed=steps)
    op, (q,), want = _run(model, mode, "CONV_2D", seed=steps)
    source, filt, bias, out = op.tensor(0), op.tensor(1), op.tensor(2), op.output()
    out_steps = want.shape[2]
    total = max((out_steps - 1) * stride + kernel - steps, 0) if padding == "same" else 0
    (s_in, zp_in), (s_out, zp_out) = _quant(source), _quant(out)
    multiplier, shift = intops.conv_output_multipliers(s_in, filt["scales"], s_out)
    act_min, act_max = intops.activation_range("RELU" if relu else "NONE", s_out, zp_out, out["dtype"])
    case = {"weights": filt["value"].reshape(cout, kernel * cin), "bias": bias["value"], "input_zero_point": zp_in,
            "output_zero_point": zp_out, "multiplier": multiplier, "shift": shift, "act_min": act_min,
            "act_max": act_max, "dtype": out["dtype"]}
    padded = intops_window.pad_window(q.reshape(steps, cin), total // 2, total - total // 2, zp_in)
    expected = want.reshape(out_steps, cout)
    twin = intops_window.conv_window(padded, case["weights"], case["bias"], kernel, stride, zp_in, multiplier,
                                     shift, zp_out, act_min, act_max, wide=mode == "int16")
    assert_same(twin, expected, "intops_window.conv_window")
    sfx = SUFFIX[mode]
    keep = clib.Keep()
    for layout in ("int8", "int16"):
        dense = _dense_params(case, keep, layout=layout)
        params = (clib.ConvS8 if mode == "int8" else clib.ConvS16)(out_steps, stride * cin, dense)
        padded_c = np.ascontiguousarray(padded)
        actual = np.zeros((out_steps, cout), padded.dtype)
        getattr(lib, f"afkd_conv_{sfx}")(C.byref(params), clib.ptr(padded_c, clib.CTYPE[padded.dtype]),
                                         clib.ptr(actual, clib.CTYPE[padded.dtype]))
        assert_same(actual, expected, f"afkd_conv_{sfx} ({layout} weights)")


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("steps,channels,pool,stride", [(40, 8, 2, 2), (21, 3, 3, 2)])
def test_max_pool_matches_tflm(lib, mode, steps, channels, pool, stride):
    import keras

    x = keras.Input(shape=(1, steps, channels), batch_size=1)
    model = keras.Model(x, keras.layers.MaxPooling2D((1, pool), strides=(1, stride))(x))
    _, (q,), want = _run(model, mode, "MAX_POOL_2D", seed=steps)
    out_steps = want.shape[2]
    info = np.iinfo(q.dtype)
    expected = want.reshape(out_steps, channels)
    assert_same(intops_window.max_pool(q.reshape(steps, channels), pool, stride, info.min, info.max), expected,
                "intops_window.max_pool")
    params = clib.MaxPool(channels, pool, stride, out_steps, int(info.min), int(info.max))
    actual = np.zeros((out_steps, channels), q.dtype)
    source = np.ascontiguousarray(q.reshape(-1))
    getattr(lib, f"afkd_max_pool_{SUFFIX[mode]}")(C.byref(params), clib.ptr(source, clib.CTYPE[q.dtype]),
                                                  clib.ptr(actual, clib.CTYPE[q.dtype]))
    assert_same(actual, expected, f"afkd_max_pool_{SUFFIX[mode]}")


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("steps,scale", [(640, 1.0), (75, 0.2), (3, 3.0)])
def test_mean_matches_tflm(lib, mode, steps, scale):
    import keras

    x = keras.Input(shape=(1, steps, 1), batch_size=1)
    y = keras.layers.Lambda(lambda v: keras.ops.mean(v, axis=2, keepdims=True))(x)
    flatbuffer = tflite_ops.convert(keras.Model(x, y), mode, seed=steps, scale=scale)
    op = tflite_ops.TfliteOp(flatbuffer, "MEAN")
    rng = np.random.default_rng(steps)
    q = tflite_ops.random_input(tflite_ops.input_order(flatbuffer)[0], rng)
    want = tflite_ops.run_all(flatbuffer, [q])["tflm"].reshape(-1)
    (s_in, zp_in), (s_out, zp_out) = _quant(op.tensor(0)), _quant(op.output())
    params = intops_window.mean_params(s_in, zp_in, s_out, zp_out, steps)
    assert_same(intops_window.mean(q, params, q.dtype), want, "intops_window.mean")
    c_params = clib.Mean(params.count, params.input_zero_point, params.output_zero_point, params.multiplier,
                         params.shift)
    actual = np.zeros(1, q.dtype)
    source = np.ascontiguousarray(q.reshape(-1))
    getattr(lib, f"afkd_mean_{SUFFIX[mode]}")(C.byref(c_params), clib.ptr(source, clib.CTYPE[q.dtype]),
                                              clib.ptr(actual, clib.CTYPE[q.dtype]))
    assert_same(actual, want, f"afkd_mean_{SUFFIX[mode]}")


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("broadcast", [False, True])
def test_sub_matches_tflm(lib, mode, broadcast):
    import keras

    a = keras.Input(shape=(1, 50, 1), batch_size=1)
    b = keras.Input(shape=(1, 1 if broadcast else 50, 1), batch_size=1)
    model = keras.Model([a, b], keras.layers.Subtract()([a, b]))
    flatbuffer = tflite_ops.convert(model, mode, seed=4)
    op = tflite_ops.TfliteOp(flatbuffer, "SUB")
    details = tflite_ops.input_order(flatbuffer)
    rng = np.random.default_rng(5)
    values = {d["index"]: tflite_ops.random_input(d, rng) for d in details}
    # Bind the op's operands by tensor index (the converter may list the inputs in either order).
    first, second = (values[int(i)] for i in op.op["inputs"])
    want = tflite_ops.run_all(flatbuffer, [values[d["index"]] for d in details])["tflm"].reshape(-1)
    (s1, zp1), (s2, zp2), (s_out, zp_out) = _quant(op.tensor(0)), _quant(op.tensor(1)), _quant(op.output())
    params = intops.add_params(s1, zp1, s2, zp2, s_out, zp_out, dtype=first.dtype)
    b_values = second.reshape(-1)
    twin = intops_window.sub(first.reshape(-1), b_values[0] if b_values.size == 1 else b_values, params, first.dtype)
    assert_same(twin, want, "intops_window.sub")
    c_params = clib.AddParams(**params.__dict__)
    actual = np.zeros(first.size, first.dtype)
    ctype = clib.CTYPE[first.dtype]
    a_c, b_c = np.ascontiguousarray(first.reshape(-1)), np.ascontiguousarray(b_values)
    getattr(lib, f"afkd_sub_{SUFFIX[mode]}")(C.byref(c_params), clib.ptr(a_c, ctype), clib.ptr(b_c, ctype),
                                             clib.i32(0 if b_values.size == 1 else 1), clib.ptr(actual, ctype),
                                             clib.i32(first.size))
    assert_same(actual, want, f"afkd_sub_{SUFFIX[mode]}")
