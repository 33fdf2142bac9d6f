"""Streaming plan: layers, rings and latency read from a real quantized graph; refusals."""

import numpy as np
import pytest
import tensorflow as tf

from afkd.errors import AfkdError
from afkd.export.plan import plan_from_tflite
from afkd.export.tflite_graph import read_tflite
from tiny_tflite import TINY, tiny_tflite


@pytest.mark.parametrize("quant", ["int8", "int16x8"])
def test_plan_mirrors_the_network(quant):
    plan = plan_from_tflite(tiny_tflite(quant))
    assert plan.mode == quant and plan.hop == TINY.hop and plan.window == TINY.enc_kernel
    assert plan.latency_hops == 1 and set(plan.outputs) == {"aa", "va"}
    kinds = [layer.kind for layer in plan.layers]
    assert kinds.count("encoder") == 2 and kinds.count("decoder") == 2
    depthwise = [layer for layer in plan.layers if layer.kind == "depthwise"]
    # two paths x the config's dilations, each ring holding (K-1)*d past frames
    assert sorted(l.dilation for l in depthwise) == sorted(TINY.dilations * 2)
    assert all(l.history_frames == (TINY.kernel - 1) * l.dilation for l in depthwise)
    activation = "prelu" if quant == "int8" else "leaky_relu"
    assert kinds.count(activation) == 2 * (2 * TINY.blocks + 1)
    # The MAC count is the network's: what macs_per_frame counts, per hop.
    from afkd.training.model import macs_per_frame
    assert plan.macs_per_hop == macs_per_frame(TINY)


def _convert(model: tf.keras.Model, length: int) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([np.random.randn(1, 1, length, 1).astype(np.float32)] for _ in range(4))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    return converter.convert()


def _graph(pad_right: int = 0, activation=None, delay_crop: tuple[int, int] | None = None) -> bytes:
    x = tf.keras.Input((1, 40, 1), batch_size=1)
    y = tf.keras.layers.ZeroPadding2D(((0, 0), (4, 0)))(x)
    y = tf.keras.layers.Conv2D(4, (1, 8), strides=(1, 4), activation="relu")(y)
    if delay_crop is not None:  # the lookahead's delay: pad 2 frames in front, crop (left, right)
        y = tf.keras.layers.ZeroPadding2D(((0, 0), (2, 0)))(y)
        y = tf.keras.layers.Cropping2D(((0, 0), delay_crop))(y)
    y = tf.keras.layers.ZeroPadding2D(((0, 0), (2 - pad_right, pad_right)))(y)
    y = tf.keras.layers.DepthwiseConv2D((1, 3))(y)
    if activation is not None:
        y = tf.keras.layers.Activation(activation)(y)
    y = tf.keras.layers.Conv2DTranspose(1, (1, 8), strides=(1, 4), use_bias=False)(y)
    y = tf.keras.layers.Cropping2D(((0, 0), (4, 0)))(y)
    return _convert(tf.keras.Model(x, y), 40)


def test_a_minimal_causal_graph_plans():
    plan = plan_from_tflite(_graph())
    assert [l.kind for l in plan.layers] == ["encoder", "depthwise", "decoder"]


def test_a_pad_then_crop_of_the_last_frames_plans_as_a_delay():
    plan = plan_from_tflite(_graph(delay_crop=(0, 2)))
    assert [l.kind for l in plan.layers] == ["encoder", "delay", "depthwise", "decoder"]
    assert plan.layers[1].history_frames == 2 and plan.lookahead_hops == 2


def test_a_crop_that_is_no_pure_delay_is_refused_naming_the_layer():
    with pytest.raises(AfkdError, match=r"shifted.tflite: layer STRIDED_SLICE .* keep the first 10"):
        plan_from_tflite(_graph(delay_crop=(1, 1)), "shifted.tflite")


def test_a_right_pad_is_refused_as_not_causal():
    with pytest.raises(AfkdError, match="not causal"):
        plan_from_tflite(_graph(pad_right=1), "future.tflite")


def test_an_unsupported_op_is_refused_naming_the_layer():
    with pytest.raises(AfkdError, match=r"tanh.tflite: layer TANH .* not supported by the firmware"):
        plan_from_tflite(_graph(activation="tanh"), "tanh.tflite")


def test_graph_reader_sees_options_and_weights():
    graph = read_tflite(tiny_tflite("int8"))
    depthwise = [op for op in graph.operators if op.opcode == "DEPTHWISE_CONV_2D"]
    assert sorted(op.options["dilation_w_factor"] for op in depthwise) == sorted(TINY.dilations * 2)
    weights = graph.tensors[depthwise[0].inputs[1]]
    assert weights.dtype == np.int8 and weights.data is not None and weights.scale.size == TINY.hidden


def test_garbage_is_not_a_model():
    with pytest.raises(AfkdError, match="junk.tflite: not a TFLite flatbuffer"):
        read_tflite(b"\x00" * 64, "junk.tflite")
