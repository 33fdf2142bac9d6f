"""The ctypes mirrors of the kernels' parameter structs (tests/kernel_harness/clib.py) have the C
layout: sizeof and every field's offset, as the host compiler lays out afkd_kernels.h."""

import ctypes as C

from afkd.export.intops_leaky import LeakyReluParams
from conftest import require_tool
from tests.kernel_harness import clib


def test_every_mirror_has_the_c_layout(tmp_path):
    require_tool("gcc")

    class LeakyParams(C.Structure):  # as tests/test_kernels_elementwise.py builds it
        _fields_ = [(name, C.c_int32) for name in LeakyReluParams.__dataclass_fields__]

    structures = {label: (c_type, getattr(clib, label)) for label, c_type in clib.MIRRORS.items()}
    structures["LeakyParams"] = ("afkd_leaky_relu_params", LeakyParams)
    layouts = clib.probe_layouts(tmp_path, structures)
    assert set(layouts) == set(structures)
    for label, (c_type, mirror) in structures.items():
        c = layouts[label]
        assert C.sizeof(mirror) == c["sizeof"], f"{label}: ctypes {C.sizeof(mirror)} bytes, {c_type} {c['sizeof']}"
        for name, *_ in mirror._fields_:
            assert getattr(mirror, name).offset == c[name], f"{label}.{name}: ctypes offset " \
                f"{getattr(mirror, name).offset}, {c_type} {c[name]}"


def test_a_mirror_that_lost_a_field_is_caught(tmp_path):
    require_tool("gcc")

    class Short(C.Structure):  # afkd_mul_params without act_min: act_max lands at act_min's place
        _fields_ = [(n, C.c_int32) for n in ("input1_offset", "input2_offset", "output_offset",
                                            "output_multiplier", "output_shift", "act_max")]

    c = clib.probe_layouts(tmp_path, {"Short": ("afkd_mul_params", Short)})["Short"]
    assert Short.act_max.offset != c["act_max"] and C.sizeof(Short) != c["sizeof"]
