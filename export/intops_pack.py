"""Flash encodings the firmware's fast kernels read: packed dense weights and the compact
16x8 output stage. Everything here is a lossless re-encoding of TFLite's parameters, so the
kernels' bits do not change (checked by tests/test_kernels_pack.py and the kernel tests).

Packed dense weights (firmware/runtime/afkd_dot.h reads them):
    rows in groups of 4; for group g and column block j (4 columns), the 16 bytes
    w[4g+i][4j .. 4j+3] for i = 0..3, then each of the 4 rows' cols % 4 tail bytes.
    Rows after the last full group: one row at a time, blocks then tail.
    16x8 only: within a block a row's bytes are stored (w0, w2, w1, w3), so that SXTB16 of
    the word gives the pair [w0 w1] and SXTB16 ROR 8 gives [w2 w3], matching the int16
    input words [x0 x1] and [x2 x3] (no input repacking in the inner loop).

16x8 output stage: TFLite's int64 requant y = (acc * m16 + 2^(ts-1)) >> ts with
m16 = the multiplier rounded to 16 bits (<= 0x7FFF) and ts = 15 - shift (8 .. 46), stored
as int16 m16 and uint8 ts (3 bytes per channel instead of 8), or, when every channel has
16 <= ts <= 32 and the sums fit int32, as one int32 m16 << (32 - ts) per channel: one SMMULR.

The 16x8 default layout (``afkd export --weight-storage int16``) stores the same int8 weights
sign-extended to int16 (pack_dense_weights16, pack_depthwise_weights16): twice their flash, no
SXTB16 in the inner loops (LDM + SMLAD only).
"""

from __future__ import annotations

import numpy as np

ROW_GROUP = 4
#: |int8 weight * int16 activation| <= 2^7 * 2^15.
_MAX_PRODUCT_S16 = 1 << 22


def pack_dense_weights(weights: np.ndarray, wide: bool) -> np.ndarray:
    """(rows, cols) int8 -> the packed 1-D int8 layout above (same size)."""
    w = np.asarray(weights)
    if w.ndim != 2:
        raise ValueError(f"dense weights: expected (rows, cols), got shape {w.shape}")
    rows, cols = w.shape
    blocks, rem = cols // 4, cols % 4
    order = [0, 2, 1, 3] if wide else [0, 1, 2, 3]
    pieces: list[np.ndarray] = []

    def group(rows_w: np.ndarray) -> None:
        body = rows_w[:, : blocks * 4].reshape(rows_w.shape[0], blocks, 4)[:, :, order]
        pieces.append(body.transpose(1, 0, 2).reshape(-1))       # block-major, then row
        pieces.append(rows_w[:, blocks * 4:].reshape(-1))          # tails, row after row

    full = rows - rows % ROW_GROUP
    for r in range(0, full, ROW_GROUP):
        group(w[r: r + ROW_GROUP])
    for r in range(full, rows):
        group(w[r: r + 1])
    packed = np.concatenate(pieces) if pieces else np.zeros(0)
    return packed.astype(np.int8)


def pack_dense_weights16(weights: np.ndarray) -> np.ndarray:
    """(rows, cols) int8 -> the 16x8 kernels' fast layout, int16 (twice the flash).

    Same grouping as :func:`pack_dense_weights` (4 rows per group, blocks of 4 columns, then
    the tails), but each weight is stored sign-extended to int16 in natural order: a row's
    block is the words [w0 w1] [w2 w3], which SMLAD multiplies with the int16 input words
    [x0 x1] [x2 x3] directly, so the inner loop needs no SXTB16 (0.8 instead of 1.2
    instructions per MAC)."""
    w = np.asarray(weights)
    if w.ndim != 2:
        raise ValueError(f"dense weights: expected (rows, cols), got shape {w.shape}")
    rows, cols = w.shape
    blocks = cols // 4
    pieces: list[np.ndarray] = []
    full = rows - rows % ROW_GROUP
    for r, g in [(r, ROW_GROUP) for r in range(0, full, ROW_GROUP)] + [(r, 1) for r in range(full, rows)]:
        rows_w = w[r: r + g]
        pieces.append(rows_w[:, : blocks * 4].reshape(g, blocks, 4).transpose(1, 0, 2).reshape(-1))
        pieces.append(rows_w[:, blocks * 4:].reshape(-1))
    return (np.concatenate(pieces) if pieces else np.zeros(0)).astype(np.int16)


def pack_depthwise_weights16(weights: np.ndarray) -> np.ndarray:
    """(K, C) int8 depthwise taps -> int16, channel-pair-major: for each pair (c, c+1) the
    K words [w_k[c] w_k[c+1]]; an odd last channel is paired with a zero. One pointer then
    streams a pair's taps and each word feeds SMLABB and SMLATT (afkd_depthwise_s16.c)."""
    w = np.asarray(weights, np.int64)
    if w.ndim != 2:
        raise ValueError(f"depthwise weights: expected (K, C), got shape {w.shape}")
    k, c = w.shape
    padded = np.zeros((k, c + (c & 1)), np.int64)
    padded[:, :c] = w
    return padded.reshape(k, -1, 2).transpose(1, 0, 2).reshape(-1).astype(np.int16)


def unpack_dense_weights(packed: np.ndarray, rows: int, cols: int, wide: bool) -> np.ndarray:
    """Inverse of :func:`pack_dense_weights` (for tests)."""
    positions = _pack_positions(rows, cols, wide)
    out = np.empty(rows * cols, np.int8)
    out[positions] = np.asarray(packed, np.int8)
    return out.reshape(rows, cols)


def _pack_positions(rows: int, cols: int, wide: bool) -> np.ndarray:
    """packed[i] = w.flat[positions[i]]."""
    flat = np.arange(rows * cols, dtype=np.int64).reshape(rows, cols)
    blocks, rem = cols // 4, cols % 4
    order = [0, 2, 1, 3] if wide else [0, 1, 2, 3]
    out: list[np.ndarray] = []
    full = rows - rows % ROW_GROUP
    spans = [(r, ROW_GROUP) for r in range(0, full, ROW_GROUP)] + [(r, 1) for r in range(full, rows)]
    for r, g in spans:
        part = flat[r: r + g]
        out.append(part[:, : blocks * 4].reshape(g, blocks, 4)[:, :, order].transpose(1, 0, 2).reshape(-1))
        out.append(part[:, blocks * 4:].reshape(-1))
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def reduced_multiplier_s16(multiplier: np.ndarray, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's int64 requant parameters -> (m16 int16, total shift ts = 15 - shift, uint8).

    m16 = min((multiplier + 2^15) >> 16, 0x7FFF), exactly as MultiplyByQuantizedMultiplier
    (int64 x) rounds it.
    """
    m = np.asarray(multiplier, np.int64)
    s = np.asarray(shift, np.int64)
    if np.any(m < 0) or np.any(s < -31) or np.any(s > 7):
        raise ValueError("16x8 requant: multipliers must be >= 0 and shifts in [-31, 7]")
    m16 = np.minimum((m + (1 << 15)) >> 16, 0x7FFF)
    return m16.astype(np.int16), (15 - s).astype(np.uint8)


def requantize_s16_reference(acc: np.ndarray, m16: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """y = (acc * m16 + 2^(ts-1)) >> ts in int64 (TFLite's formula; what the C must equal)."""
    acc = np.asarray(acc, np.int64)
    ts = np.asarray(ts, np.int64)
    return (acc * np.asarray(m16, np.int64) + (np.int64(1) << (ts - 1))) >> ts


def requantize_s16_fast(acc: np.ndarray, m16: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """NumPy twin of the C afkd_requantize16 (int32 acc): the three cases the C takes.

    ts > 32:      h = floor(acc * m16 / 2^32); y = (h + 2^(ts-33)) >> (ts - 32)
    16<=ts<=32:   y = (acc * (m16 << (32 - ts)) + 2^31) >> 32    (SMMULR; m16 << 16 < 2^31)
    ts < 16:      the 64-bit formula.
    """
    acc = np.asarray(acc, np.int64)
    m16 = np.broadcast_to(np.asarray(m16, np.int64), acc.shape)
    ts = np.broadcast_to(np.asarray(ts, np.int64), acc.shape)
    post = np.maximum(ts - 32, 1)
    high = (acc * m16) >> 32
    case_b = (high + (np.int64(1) << (post - 1))) >> post
    lshift = np.clip(32 - ts, 0, 16)
    case_a = (acc * (m16 << lshift) + (np.int64(1) << 31)) >> 32
    generic = requantize_s16_reference(acc, m16, ts)
    return np.where(ts > 32, case_b, np.where(ts >= 16, case_a, generic))


def smmulr_multiplier_s16(m16: np.ndarray, ts: np.ndarray) -> np.ndarray | None:
    """m16 << (32 - ts) as int32 when every channel has 16 <= ts <= 32, else None.

    For those channels (acc * m16 + 2^(ts-1)) >> ts = (acc * (m16 << (32-ts)) + 2^31) >> 32
    (requantize_s16_fast's case_a, one SMMULR), and m16 < 2^15 keeps the product below 2^31.
    The kernels then read one int32 per output instead of deriving it from (m16, ts).
    """
    m = np.asarray(m16, np.int64).reshape(-1)
    t = np.asarray(ts, np.int64).reshape(-1)
    if m.size == 0 or np.any(t < 16) or np.any(t > 32):
        return None
    return (m << (32 - t)).astype(np.int32)


def decoder_multiplier32_s16(multiplier: int, shift: int, bias: int, kernel: int, stride: int,
                             channels: int) -> int | None:
    """The 16x8 decoder's SMMULR multiplier when its overlap-add tail may be int32, else None.

    A tail entry collects the sums of at most ceil(kernel / stride) frames before it is
    emitted, each of ``channels`` products |w * x| <= 2^22; with the bias added at the output,
    |bias| + ceil(kernel / stride) * channels * 2^22 < 2^31 keeps every int32 value equal to
    TFLite's int64 one. The output stage is then one SMMULR (smmulr_multiplier_s16) when the
    total shift allows it.
    """
    frames = -(-kernel // stride)
    if abs(int(bias)) + frames * channels * _MAX_PRODUCT_S16 >= (1 << 31):
        return None
    m16, ts = reduced_multiplier_s16(np.array([multiplier]), np.array([shift]))
    m32 = smmulr_multiplier_s16(m16, ts)
    return None if m32 is None else int(m32[0])


def split_bias_s16(bias: np.ndarray | None, rows: int, max_terms: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The 16x8 bias as (int32 bias or None, int64 bias or None).

    The kernels accumulate in int32 when that is provably exact: |bias| + max_terms * 2^22
    < 2^31 for every row (max_terms = products summed per output). Otherwise the int64 bias
    is kept and the kernel accumulates in int64 like TFLite. An all-zero bias is None (no array in flash).
    """
    b = np.zeros(rows, np.int64) if bias is None else np.asarray(bias, np.int64).reshape(-1)
    if b.size != rows:
        raise ValueError(f"16x8 bias: {b.size} values for {rows} rows")
    if int(np.max(np.abs(b), initial=0)) + max_terms * _MAX_PRODUCT_S16 >= (1 << 31):
        return None, b                     # int32 could overflow: int64 like TFLite
    return (b.astype(np.int32) if np.any(b) else None), None


#: |int8 weight * int8 activation| <= 2^7 * 2^7.
_MAX_PRODUCT_S8 = 1 << 14


def requant_fits_32bit(folded_bias: np.ndarray, terms: int, shift: np.ndarray) -> bool:
    """Whether an int8 conv's output stage may use the 32-bit prepared requant: true when
    (|bias[r]| + terms * 2^14) * 2^max(shift[r], 0) < 2^30 for every row r (the bias is the
    folded one the kernel starts from; terms = products summed per output)."""
    b = np.abs(np.asarray(folded_bias, np.int64).reshape(-1))
    left = np.maximum(np.asarray(shift, np.int64).reshape(-1), 0)
    bound = (b + terms * _MAX_PRODUCT_S8) << left
    return bool(np.all(bound < (1 << 30)))


#: The int8 output-stage forms, the values of the kernels' ``requant_32bit`` field (afkd_kernels.h).
REQUANT_64BIT, REQUANT_32BIT, REQUANT_32BIT_RIGHT, REQUANT_32BIT_RIGHT_FULL = 0, 1, 2, 3


def requant_mode_s8(folded_bias: np.ndarray, terms: int, shift: np.ndarray, act_min: int, act_max: int) -> int:
    """The int8 conv's ``requant_32bit`` field: REQUANT_32BIT where :func:`requant_fits_32bit`
    holds; REQUANT_32BIT_RIGHT where moreover every row's shift is negative (a multiplier below
    1/2, as conv layers almost always have: the output stage then has one form for all rows, a
    doubling and a rounding right shift); REQUANT_32BIT_RIGHT_FULL where the clamp is also the
    whole int8 range (no fused activation, or a ReLU whose zero point is -128: one SSAT);
    else REQUANT_64BIT."""
    if not requant_fits_32bit(folded_bias, terms, shift):
        return REQUANT_64BIT
    if not bool(np.all(np.asarray(shift).reshape(-1) <= -1)):
        return REQUANT_32BIT
    return REQUANT_32BIT_RIGHT_FULL if (act_min, act_max) == (-128, 127) else REQUANT_32BIT_RIGHT
