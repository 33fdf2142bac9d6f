import numpy as np
import pytest

from afkd.errors import AfkdError
from afkd.export.c_literals import c_array_body, c_float, c_identifier, c_int, c_prefix


@pytest.mark.parametrize("name", ["afkd", "dtfe_student", "_x1"])
def test_valid_identifiers_pass(name):
    assert c_identifier(name) == name


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "int", "static", "__x", "_Abc", "a b", "main"])
def test_invalid_identifiers_are_refused(name):
    with pytest.raises(AfkdError):
        c_identifier(name)


def test_prefix_must_be_lower_case_and_short():
    assert c_prefix("afkd") == "afkd"
    with pytest.raises(AfkdError):
        c_prefix("AFKD")
    with pytest.raises(AfkdError):
        c_prefix("a" * 25)


def test_integer_literals_are_range_checked_and_min_is_spelled_safely():
    assert c_int(-128, "int8_t") == "-128"
    assert c_int(-(2**31), "int32_t") == "(-2147483647 - 1)"
    assert c_int(5, "int64_t") == "5LL"
    with pytest.raises(AfkdError, match="does not fit int8_t"):
        c_int(128, "int8_t")


def test_float_literals_round_trip_through_float32():
    for value in (0.1, 1e-7, -3.5, 2.0, 1 / 3):
        text = c_float(value)
        assert text.endswith("f")
        assert np.float32(float(text[:-1])) == np.float32(value)
    with pytest.raises(AfkdError):
        c_float(float("nan"))


def test_array_body_is_row_major_and_wrapped():
    body = c_array_body(np.arange(6, dtype=np.int8).reshape(2, 3), "int8_t", per_line=4)
    assert body.splitlines() == ["    0, 1, 2, 3,", "    4, 5,"]
    # What the C compiler will read back is exactly the array.
    parsed = [int(v) for v in body.replace("\n", "").split(",") if v.strip()]
    assert parsed == list(range(6))


def test_uint32_bit_masks_are_hex_and_range_checked():
    from afkd.errors import AfkdError
    from afkd.export.c_literals import c_int

    assert c_int(0, "uint32_t") == "0x00000000u" and c_int(2**32 - 1, "uint32_t") == "0xffffffffu"
    for bad in (-1, 2**32):
        with pytest.raises(AfkdError, match="does not fit uint32_t"):
            c_int(bad, "uint32_t")
