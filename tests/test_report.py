"""Validation report: figures from known signals, JSON layout, Markdown tables, self-contained HTML
that a headless Chromium renders with its plots."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from afkd.errors import AfkdError
from afkd.host_tools import report as rep
from afkd.host_tools.compare import compare_exact, compare_float
from conftest import require_tool

FS = 250.0


def _signals(seconds=20.0, seed=0):
    t = np.arange(int(seconds * FS)) / FS
    rng = np.random.default_rng(seed)
    aa_true = 0.08 * np.sin(2 * np.pi * 6.0 * t)  # a 6 Hz f-wave: all its power in the 3-12 Hz band
    va_true = sum(np.exp(-(((t - b) / 0.02) ** 2)) for b in np.arange(0.4, seconds, 0.8))
    aa = aa_true + 0.01 * rng.standard_normal(t.size)
    va = va_true + 0.01 * rng.standard_normal(t.size)
    return {"id": "syn1", "fs": FS, "ecg": aa_true + va_true, "aa": aa, "va": va,
            "aa_reference": aa_true * 0.97, "aa_true": aa_true, "va_true": va_true}


def _footprint():
    return {"flash_bytes": 1000, "ram_bytes": 600, "static_ram_bytes": 400,
            "flash": {"weights": 600, "generated_code": 100, "runtime": 150, "libc": 100, "startup_board": 50, "padding": 0},
            "ram": {"model_state": 256, "scratch": 64, "other_static": 80, "heap": 0, "stack": 200},
            "stack": {"worst_bytes": 200, "bounded": True, "problems": [], "interrupts": [], "method": "test",
                      "path": [{"function": "Reset_Handler", "bytes": 8, "qualifier": "static"},
                               {"function": "main", "bytes": 192, "qualifier": "static"}]},
            "heap": {"reserved_bytes": 0, "allocator_symbols": [], "uses_heap": False}}


def _range(clipped: int) -> dict:
    layers = [{"layer": "aa_decoder", "op": "TRANSPOSE_CONV", "clipped": clipped, "values": 4000,
               "fraction": clipped / 4000}] if clipped else []
    return {"input_clipped": 0, "input_samples": 5000, "input_fraction": 0.0, "input_range_mv": [-22.4, 22.4],
            "worst_layer": "aa_decoder" if clipped else None, "worst_fraction": clipped / 4000, "layers": layers}


def _report(traces, bit_exact=True, thresholds=None, clipped=0, label="A"):
    q = lambda x: np.clip(np.round(x / 0.01), -128, 127).astype(np.int8)  # noqa: E731
    fw = [{"aa": q(t["aa"]), "va": q(t["va"])} for t in traces]
    ref = [{k: v.copy() for k, v in s.items()} for s in fw]
    if not bit_exact:
        ref[0]["va"][5] += 1
    records = [rep.segment_quality(t["id"], t["aa"], t["fs"], va=t["va"], aa_true=t.get("aa_true"),
                                  va_true=t.get("va_true"), label=label) for t in traces]
    return rep.build_report(
        runner="qemu", target="mps2_an386", segments=records,
        vs_tflite=compare_exact(fw, ref, [t["id"] for t in traces]),
        vs_torch=compare_float([{"aa": s["aa"] * 0.01} for s in fw], [{"aa": t["aa"]} for t in traces]),
        footprint=_footprint(),
        timing=rep.timing_metrics([1000, 2000], hop=50, fs=FS, clock_hz=1e6, macs_per_hop=500),
        saturation=_range(clipped), thresholds=thresholds,
        meta={"model": "dtfe_int16x8", "model_hash": "0123456789abcdef", "data": "data/val"})


def test_segment_quality_sc_and_ground_truth_metrics():
    s = _signals()
    row = rep.segment_quality("r", s["aa_true"], FS, aa_true=s["aa_true"])
    assert row["sc"] > 0.99  # a pure 6 Hz sine
    t = np.arange(int(20 * FS)) / FS
    assert rep.segment_quality("r", np.sin(2 * np.pi * 30 * t), FS)["sc"] < 0.01
    noisy = rep.segment_quality("r", s["aa_true"] * 1.1, FS, aa_true=s["aa_true"])
    assert noisy["nmse_aa"] == pytest.approx(0.01) and noisy["snr_aa_db"] == pytest.approx(20.0)
    assert rep.segment_quality("r", s["aa"], FS)["snr_aa_db"] is None  # no ground truth -> null


def test_segment_quality_compares_a_lagging_output_with_the_truth_it_estimates():
    """A model with lookahead emits the estimate of sample i at i + lag: the SNR pairs them."""
    s = _signals()
    truth, lag = s["aa_true"], 21  # half a period of the 6 Hz sine
    late = np.concatenate([np.zeros(lag), truth[:-lag] * 1.1])  # the 20 dB estimate, lag samples late
    assert rep.segment_quality("r", late, FS, aa_true=truth, lag=lag)["snr_aa_db"] == pytest.approx(20.0)
    assert rep.segment_quality("r", late, FS, aa_true=truth)["snr_aa_db"] < 0.0  # unaligned: out of phase


def test_timing_closed_forms():
    t = rep.timing_metrics([1000, 2000], hop=50, fs=250.0, clock_hz=1e6, macs_per_hop=500)
    assert t["instructions_per_hop"] == 1500 and t["instructions_per_mac"] == 3.0 and t["cycles_per_hop"] is None
    assert t["cpu_load"] == pytest.approx(1500 * 5 / 1e6) and t["cpu_load_worst"] == pytest.approx(2000 * 5 / 1e6)
    assert t["latency_ms"] == pytest.approx(200.0 + 2.0)  # one hop (50 / 250 s) + the worst hop at 1 MHz
    cycles = rep.timing_metrics([10], hop=1, fs=1.0, clock_hz=10.0, unit="cycles")
    assert cycles["cycles_per_hop"] == 10 and cycles["instructions_per_hop"] is None
    with pytest.raises(AfkdError):
        rep.timing_metrics([], hop=50, fs=250.0, clock_hz=1e6)


def test_timing_from_a_runner_follows_its_counter_kind():
    from types import SimpleNamespace

    info = SimpleNamespace(hop=50, macs_per_hop=500, clock_hz=1_000_000, counter_kind="dwt_cycles")
    t = rep.timing_from_run(np.array([1000, 2000], np.uint32), info, fs=250.0)
    assert t["unit"] == "cycles" and t["cycles_per_mac"] == 3.0 and t["instructions_per_mac"] is None
    assert rep.timing_from_run([1], SimpleNamespace(**{**vars(info), "counter_kind": "none"}), fs=250.0) is None


def test_json_carries_the_ci_keys_with_their_types(tmp_path):
    s = _signals()
    report = _report([s])
    rep.write_json(tmp_path / "r.json", report)
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["runner"] == "qemu" and data["target"] == "mps2_an386"
    assert isinstance(data["segments"], list) and data["segments"][0]["id"] == "syn1"
    assert data["fidelity"]["vs_tflite"]["bit_exact"] is True
    assert data["fidelity"]["vs_tflite"]["max_abs_lsb"] == 0
    assert isinstance(data["fidelity"]["vs_torch"]["snr_db"], float)
    assert 0.9 < data["quality"]["sc"] <= 1.0 and isinstance(data["quality"]["snr_aa_db"], float)
    assert data["footprint"]["flash_bytes"] == 1000 and data["footprint"]["ram_bytes"] == 600
    assert data["timing"]["instructions_per_hop"] == 1500.0 and data["timing"]["instructions_per_mac"] == 3.0
    assert isinstance(data["timing"]["cpu_load"], float) and data["timing"]["clock_hz"] == 1e6
    assert data["checks"]["passed"] is True


def test_json_has_null_without_ground_truth_and_for_infinite_snr(tmp_path):
    s = _signals()
    records = [rep.segment_quality("x", s["aa"], FS)]
    same = compare_float({"aa": s["aa"]}, {"aa": s["aa"]})
    report = rep.build_report(runner="host", target="host", segments=records, vs_torch=same, thresholds={"bit_exact": False})
    data = json.loads(rep.to_json(report))
    assert data["quality"]["snr_aa_db"] is None and data["fidelity"]["vs_torch"]["snr_db"] is None
    assert report["fidelity"]["vs_torch"]["snr_db"] == float("inf")  # in memory it stays inf


def test_thresholds_pass_fail_and_unmeasured():
    s = _signals()
    good = _report([s])
    assert rep.check_thresholds(good) == []
    bad = _report([s], bit_exact=False)
    failures = rep.check_thresholds(bad)
    assert len(failures) == 1 and "bit_exact" in failures[0] and "va[5]" in failures[0]
    assert not bad["checks"]["passed"]
    limits = rep.check_thresholds(good, {"max_flash_bytes": 999, "max_ram_bytes": 600, "max_cpu_load": 0.005})
    assert [f.split(":")[0] for f in limits] == ["max_flash_bytes", "max_cpu_load"]  # worst hop load is 0.01
    no_torch = dict(good, fidelity={**good["fidelity"], "vs_torch": None})
    assert "not measured" in rep.check_thresholds(no_torch, {"min_vs_torch_snr_db": 10})[0]
    heap = dict(good, footprint={**_footprint(), "heap": {"uses_heap": True, "allocator_symbols": ["malloc"]}})
    assert "malloc" in rep.check_thresholds(heap)[0]
    with pytest.raises(AfkdError, match="unknown"):
        rep.check_thresholds(good, {"max_flsh": 1})
    clipping = _report([s], clipped=8)
    assert rep.check_thresholds(clipping, {"max_activation_clipped_fraction": 0.0}) == [
        "max_activation_clipped_fraction: range.worst_fraction = 0.002, limit 0"]
    assert rep.check_thresholds(clipping, {"max_activation_clipped_fraction": 0.01}) == []


def test_range_line_names_the_worst_layer_and_the_remedy_only_when_something_clipped():
    s = _signals()
    clean = " ".join(rep.summary_lines(_report([s])))
    assert "input clipped 0 of 5,000 samples (+-22.4 mV), no activation clipped" in clean
    assert "headroom" not in clean
    clipping = " ".join(rep.summary_lines(_report([s], clipped=8)))
    assert "1 layer clipped, worst aa_decoder (0.200% of its values)" in clipping and "--headroom" in clipping


def test_markdown_tables_are_well_formed(tmp_path):
    report = _report([_signals()], bit_exact=False, clipped=8)
    rep.write_markdown(tmp_path / "r.md", report)
    md = (tmp_path / "r.md").read_text()
    assert md.startswith("## afkd validation: FAIL")
    assert "| bit-exact vs TFLite | no |" in md and "| max abs difference | 1 LSB |" in md
    assert "| weights | 600 |" in md and "| **total** | **1,000** |" in md
    assert "| aa_decoder (TRANSPOSE_CONV) | 8 | 4,000 | 0.2000% |" in md
    tables = [block.splitlines() for block in md.split("\n\n") if block.startswith("|")]
    assert len(tables) >= 6
    for rows in tables:
        assert re.fullmatch(r"\|(---\|)+", rows[1])
        assert {r.count("|") for r in rows} == {rows[0].count("|")}
    assert any("FAIL" in line for line in rep.summary_lines(report))


@pytest.fixture(scope="module")
def html_page(tmp_path_factory) -> Path:
    """One rendered page shared by the HTML tests (plotting takes seconds)."""
    traces = [_signals(seed=0), dict(_signals(seed=1), id="syn2")]
    path = tmp_path_factory.mktemp("html") / "report.html"
    rep.write_html(path, _report(traces, clipped=8), traces)
    return path


def test_html_is_self_contained(html_page):
    html = html_page.read_text()
    assert "<h2>Range</h2>" in html and "aa_decoder (TRANSPOSE_CONV)" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "http://" not in html and "https://" not in html and "@import" not in html
    images = re.findall(r'<img[^>]*src="([^"]+)"', html)
    assert len(images) == 1 + 2 * 2  # footprint + (signals, spectrum) per segment
    for uri in images:
        assert uri.startswith("data:image/png;base64,")
        assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_says_what_applied_to_what_by_whom_and_when(html_page):
    from afkd import __version__

    html = html_page.read_text()
    assert "2 segments of model <code>dtfe_int16x8</code>" in html and "<code>0123456789abcdef</code>" in html
    applied = dict(re.findall(r"<tr><td><code>(\w+)</code></td><td class=\"num\">([^<]*)</td></tr>", html))
    assert applied == {"bit_exact": "yes", "streaming_equal": "yes", "no_heap": "yes"}
    assert re.search(rf"Made by afkd {re.escape(__version__)} on \d{{4}}-\d\d-\d\d \d\d:\d\d UTC", html)
    assert "Warning:" not in html  # these segments are AF
    assert "Stack: at most 200 B; deepest path Reset_Handler 8 → main 192 (test)" in html


def test_data_without_af_warn_that_sc_shows_little(tmp_path):
    s = _signals()
    report = _report([s], label="N")
    assert report["checks"]["passed"] and len(report["warnings"]) == 1
    assert report["warnings"][0].startswith("no segment is labelled AF (A); labels here: N.")
    assert any(line.startswith("  WARNING no segment is labelled AF") for line in rep.summary_lines(report))
    assert "**Warnings**" in rep.to_markdown(report)
    from afkd.host_tools.report_html import render_html

    assert "Warning: no segment is labelled AF" in render_html(report, [])
    assert _report([s])["warnings"] == []


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    chromium = require_tool("chromium")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([chromium, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_html_renders_its_plots_in_headless_chromium(html_page, tmp_path):
    page = html_page
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    mark = re.search(r'id="afkd-image-check" data-total="(\d+)" data-decoded="(\d+)"', dom)
    assert mark and mark.group(1) == "5" and mark.group(2) == "5"  # every plot decoded (naturalWidth > 0)
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri())
    import matplotlib.image

    pixels = (matplotlib.image.imread(str(shot))[..., :3] * 255).astype(np.uint8)
    assert pixels.shape[:2] == (2400, 1200)
    packed = pixels[..., 0].astype(np.uint32) << 16 | pixels[..., 1].astype(np.uint32) << 8 | pixels[..., 2]
    assert np.unique(packed).size > 500  # plots with anti-aliased lines, not a blank or text-only page
    lower = pixels[800:].reshape(-1, 3)  # the plot area below the tables is not blank either
    assert np.mean(np.any(lower < 200, axis=1)) > 0.02
