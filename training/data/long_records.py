"""Long records read and preprocessed a chunk at a time, with bounded memory.

:func:`read_lead_chunked` reads one lead in chunks of :data:`CHUNK` samples (wfdb reads only
the bytes of a chunk), applies the checks of :func:`wfdb_io.check_samples` across the
chunks, and spools the samples to disk. :func:`preprocess_chunked` resamples and high-passes
the spooled lead chunk by chunk into another spool:

* resampling: each chunk is resampled with ``margin`` extra input samples on each side
  (more than the polyphase filter's half length) and only the samples the margin
  does not touch are kept; chunk starts are multiples of ``down``, so every chunk's first
  output sample falls on the global output grid. The result equals resampling the record at
  once, up to float64 rounding;
* high-pass: ``lfilter`` carries its state from chunk to chunk, which is exact.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy import signal

from afkd.errors import AfkdError
from afkd.training.data.spool import OnDiskArray, Spool

CHUNK = 1 << 20  # source samples per read: 8 MB as float64
LONG_RECORD = 4 * CHUNK  # records at least this long are read through the spool (about 4 h at 250 Hz)


def read_lead_chunked(base, header, readable, index: int, chunk: int | None = None) -> OnDiskArray:
    """Lead ``index`` of an opened record (physical units, float64) spooled to disk, checked."""
    import wfdb

    from afkd.training.data.wfdb_io import FLAT_PTP_MV, _short

    name, n = str(header.sig_name[index]), int(header.sig_len)
    chunk = chunk or CHUNK
    spool = Spool(np.float64)
    bad, first_bad, kind, low, high = 0, None, "", math.inf, -math.inf
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        try:
            rec = wfdb.rdrecord(str(readable), channels=[index], physical=True, return_res=64,
                                sampfrom=start, sampto=stop)
        except Exception as err:
            raise AfkdError(f"{base}: unreadable signal data ({_short(err)})") from None
        x = np.asarray(rec.p_signal, dtype=np.float64)[:, 0]
        if x.size != stop - start:
            raise AfkdError(f"{base}: read {start + x.size} samples but the header says {n}")
        finite = np.isfinite(x)
        if not finite.all():
            if first_bad is None:
                first_bad = start + int(np.argmin(finite))
                kind = "NaN" if np.isnan(x[first_bad - start]) else "infinite"
            bad += int((~finite).sum())
        else:
            low, high = min(low, float(x.min())), max(high, float(x.max()))
        spool.append(x)
    if bad:
        raise AfkdError(f"{base}: lead {name} has {bad} NaN/infinite samples (first {kind} at sample {first_bad})")
    if high - low < FLAT_PTP_MV:
        raise AfkdError(f"{base}: lead {name} is flat (peak-to-peak {(high - low) * 1e3:.2f} uV)")
    return spool.array()


def preprocess_chunked(x: OnDiskArray, fs_in: float, fs_out: float, chunk: int | None = None) -> OnDiskArray:
    """:func:`preprocess.preprocess` of a spooled lead, a chunk at a time; float64 spool out."""
    from afkd.training.data.preprocess import HIGHPASS_HZ

    chunk = chunk or CHUNK
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000) if fs_in != fs_out else Fraction(1)
    up, down = ratio.numerator, ratio.denominator
    n = len(x)
    # resample_poly's filter spans 10 * max(up, down) upsampled samples each side of a tap.
    margin = down * (math.ceil(10 * max(up, down) / up / down) + 2)
    step = max(down, chunk // down * down)
    b, a = signal.butter(1, HIGHPASS_HZ, btype="highpass", fs=fs_out)
    state = None
    out = Spool(np.float64)
    for start in range(0, n, step):
        stop = min(n, start + step)
        lo, hi = max(0, start - margin), min(n, stop + margin)
        window = np.asarray(x[lo:hi], dtype=np.float64)
        y = window if up == down == 1 else signal.resample_poly(window, up, down)
        first = (start - lo) * up // down  # start and lo are multiples of down
        count = -(-stop * up // down) - start * up // down  # ceil(stop * up / down) - start * up / down
        y = y[first:first + count]
        if state is None:
            state = signal.lfilter_zi(b, a) * y[0]  # steady state for the first sample, as preprocess()
        y, state = signal.lfilter(b, a, y, zi=state)
        out.append(y)
    return out.array()
