"""The generated step's calls, in order: which layers share one kernel call, where each ring's
pointer to this step's frame is declared, and which frames the trace hook reports.

A debug build of the host firmware (``-DAFKD_TRACE=1``, host_tools/layer_trace.py) reports every
layer's output after each call; other builds compile the hook to nothing. Trace and normal builds
run the same calls: the fused 16x8 depthwise + leaky ReLU routine writes the depthwise frame into
its scratch slot on the portable path (the only one a host build has), so both layers' frames are
traced from the one call.
"""

from __future__ import annotations

from typing import Any

from afkd.errors import AfkdError
from afkd.export.kernel_params import LayerParams
from afkd.export.plan import Layer, StreamingPlan

#: The leaky fast forms (fast, neg_whole, pos_whole; pos_whole None: any) that the fused
#: depthwise routines have (firmware/runtime/afkd_depthwise_s16.c, afkd_depthwise_leaky_form).
FUSED_LEAKY_FORMS = {(1, 0, None), (1, 1, None), (2, 0, 1), (2, 0, 2), (2, 1, 1)}


def fused_depthwise_leaky(layers: list[dict], params: list[LayerParams]) -> set[int]:
    """Indices of the 16x8 depthwise layers whose output only the next layer, a LEAKY_RELU,
    reads, in a layout afkd_depthwise_leaky_s16 takes (afkd_kernels.h): the step computes the
    pair in one call."""
    readers: dict[str, int] = {}
    for p in params:
        for name in p.layer.inputs:
            readers[name] = readers.get(name, 0) + 1
    fused = set()
    for i, (entry, p) in enumerate(zip(layers[:-1], params[:-1])):
        nxt, q = layers[i + 1], params[i + 1]
        if entry["kind"] != "depthwise" or nxt["kind"] != "leaky_relu" or not p.wide:
            continue
        leaky = q.leaky_relu
        form = (leaky.fast, leaky.fast_neg_whole, None if leaky.fast == 1 else leaky.fast_pos_whole)
        s, a = p.scalars, p.arrays
        if (q.layer.inputs[0] == p.layer.output and readers.get(p.layer.output) == 1 and form in FUSED_LEAKY_FORMS
                and "m32" in a and entry["kernel"] == 3 and entry["channels"] % 2 == 0
                and (s["act_min"], s["act_max"]) == (-32768, 32767)):
            fused.add(i)
    return fused


def ring_pointer_declarations(plan: StreamingPlan, resident: dict[str, Layer], ring_current, ring_name
                              ) -> dict[str, list[dict[str, str]]]:
    """Layer name -> the ring pointers to declare just before its call: each ring's pointer to
    this step's frame, where the layer that writes that frame runs."""
    producer = {layer.output: layer.name for layer in plan.layers}
    declares: dict[str, list[dict[str, str]]] = {}
    for buffer, ring_layer in resident.items():
        if buffer not in producer:
            raise AfkdError(f"layer {ring_layer.name}: no layer writes {buffer}, the frame its ring keeps")
        ring = ring_name(ring_layer)
        declares.setdefault(producer[buffer], []).append(
            {"name": ring_current(ring_layer), "value": f"&state->{ring}[state->{ring}_pos][0]"})
    return declares


def step_calls(layers: list[dict], fused: set[int], declares: dict[str, list[dict[str, str]]]) -> list[dict[str, Any]]:
    """The step's calls in order. Each is a layer entry (a fused pair: the depthwise entry with
    kind "depthwise_leaky" and the leaky entry under "leaky") plus the ring pointers to declare
    before it ("declares") and the frames it writes, with their layer index ("traces")."""
    calls: list[dict[str, Any]] = []
    index = 0
    while index < len(layers):
        entry = layers[index]
        members = [entry]
        call = dict(entry)
        if index in fused:
            leaky = layers[index + 1]
            members.append(leaky)
            call.update(kind="depthwise_leaky", leaky=leaky,
                        comment=f"{entry['comment']},\n     * then {leaky['comment']}, in one call (which on "
                                f"the host also writes the depthwise frame, traced, to {entry['out']})")
        call["declares"] = [d for member in members for d in declares.get(member["name"], [])]
        call["traces"] = [{"index": index + k, "frame": member["out"], "count": member["out_count"]}
                          for k, member in enumerate(members)]
        calls.append(call)
        index += len(members)
    return calls
