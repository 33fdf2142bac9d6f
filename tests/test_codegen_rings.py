"""Rings without copies: the frames a depthwise layer or a delay keeps are written into their ring.

That the generated C equals the streaming reference bit for bit is tested by the firmware tests
(host and QEMU, with and without lookahead); here: the layout the generator chose.
"""

import copy
import re

import pytest

from afkd.errors import AfkdError
from afkd.export.codegen import build_context, render_model, ring_resident_buffers
from afkd.export.plan import plan_from_tflite
from tiny_tflite import tiny_tflite


@pytest.fixture(scope="module")
def plan():
    return plan_from_tflite(tiny_tflite("int16x8", lookahead=2))


def test_every_kept_frame_lives_in_its_ring_and_takes_no_slot(plan):
    context = build_context(plan, "tiny", 250, "tiny.tflite", "0" * 64)
    kept = [layer for layer in plan.layers if layer.kind in ("depthwise", "delay")]
    assert {layer.kind for layer in kept} == {"depthwise", "delay"}
    rings = {ring["layer"]: ring for ring in context["rings"]}
    entries = dict(zip((layer.name for layer in plan.layers), context["layers"]))  # one entry a layer
    producer = {layer.output: entries[layer.name] for layer in plan.layers}
    for layer in kept:
        ring = f"state->{layer.name}_ring"
        assert rings[layer.name]["frames"] == layer.history_frames + 1  # this step's frame and the past
        writes = producer[layer.inputs[0]]["out"]
        assert writes == f"{layer.name}_ring_current", producer[layer.inputs[0]]["name"]
        assert entries[layer.name]["ins"][0] == writes
    model_c = render_model(context)["tiny_model.c"]
    step = model_c[model_c.index("void tiny_step("):model_c.index("void tiny_flush(")]
    for layer in kept:  # one pointer a ring, declared once, before the layer that writes it
        ring = f"state->{layer.name}_ring"
        declaration = f"int16_t *const {layer.name}_ring_current = &{ring}[{ring}_pos][0];"
        assert step.count(declaration) == 1 and step.count(f"&{ring}[{ring}_pos]") == 1
        assert step.index(declaration) < step.index(f", {layer.name}_ring_current")
    assert "memcpy" in step and step.count("memcpy") == 1  # the input window only: no frame copied into a ring
    advances = re.findall(r"tiny_ring_advance\(&state->(\w+)_pos", step)
    assert sorted(advances) == sorted(f"{layer.name}_ring" for layer in kept)
    assert step.rindex("tiny_ring_advance") > step.rindex("AFKD_TRACE_LAYER")  # after every reader


def test_two_rings_on_one_frame_buffer_are_refused_naming_the_layer(plan):
    doubled = copy.deepcopy(plan)
    first, second = [layer for layer in doubled.layers if layer.kind == "depthwise"][:2]
    second.inputs = [first.inputs[0]]
    with pytest.raises(AfkdError, match=rf"layer {second.name}: .* kept in the ring of {first.name}"):
        ring_resident_buffers(doubled)
