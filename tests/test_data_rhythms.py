"""Synthetic rhythms: each rhythm's truth is what it says, measured from the signals and events.

P-wave train vs QRS for the sinus rhythms, premature beats where and how they should be,
flutter's F-wave rate and conduction, fine AF's amplitude, lead-off stretches with no heart
in them, the mixture's shares, and ecg = aa + va + noise everywhere.
"""

import json

import numpy as np
import pytest
from scipy import signal

from afkd import cli
from afkd.errors import AfkdError
from afkd.training.data.dataset import RHYTHMS as DATASET_RHYTHMS
from afkd.training.data.dataset import Dataset
from afkd.training.data.info import dominant_frequency
from afkd.training.data.synth import SIGNALS, SynthConfig, synthesize_record
from afkd.training.data.synth_noise import NoiseLevels
from afkd.training.data.synth_rhythms import (MIXTURES, RHYTHM_LABELS, RHYTHMS, RhythmConfig, choose_rhythm,
                                              parse_mixture)

FS = 250.0
QUIET = NoiseLevels(0, 0, 0, 0, 0)


def record(rhythm, index, seed=3, seconds=30.0, **config):
    return synthesize_record(index, seconds, FS, seed, SynthConfig(mixture=((rhythm, 1.0),), **config))


def rms(x):
    return float(np.sqrt(np.mean(np.square(np.asarray(x, dtype=np.float64)))))


def inside(times, seconds=30.0, margin=0.3):
    times = np.asarray(times)
    return (times > margin) & (times < seconds - margin)


@pytest.mark.parametrize("rhythm", RHYTHMS)
def test_every_rhythm_sums_exactly_and_carries_its_label(rhythm):
    for index in range(3):
        rec = record(rhythm, index)
        for name in SIGNALS:
            assert rec[name].dtype == np.float32 and rec[name].shape == (7500,)
        np.testing.assert_array_equal(rec["ecg"], rec["aa"] + rec["va"] + rec["noise"])
        assert rec["rhythm"] == rec["params"]["rhythm"] == rhythm
        assert rec["label"] == RHYTHM_LABELS[rhythm]
        assert rms(rec["va"]) > 0.05 and rms(rec["aa"]) > 1e-3  # both parts are really there


def test_labels_keep_their_meaning_and_the_dataset_knows_every_rhythm():
    assert {RHYTHM_LABELS[r] for r in ("af", "af_fine")} == {"A"}
    assert {RHYTHM_LABELS[r] for r in ("sinus", "sinus_arrhythmia")} == {"N"}
    assert {RHYTHM_LABELS[r] for r in ("ectopy", "flutter")} == {"O"}
    assert RHYTHM_LABELS["noise"] == "~"
    assert set(RHYTHMS) == set(DATASET_RHYTHMS) - {None}


def p_peaks(rec, share=0.5):
    """Times of the P-wave peaks measured on the atrial truth alone (peaks above share x the largest)."""
    aa = rec["aa"].astype(np.float64)
    height = share * np.max(np.abs(aa))
    pos, _ = signal.find_peaks(np.abs(aa), height=height, distance=int(0.2 * FS))
    return pos / FS


@pytest.mark.parametrize("rhythm", ["sinus", "sinus_arrhythmia"])
def test_sinus_atrial_truth_is_a_p_wave_before_every_qrs(rhythm):
    for index in range(4):
        rec = record(rhythm, index, noise=QUIET)
        ev, pr = rec["params"]["events"], rec["params"]["sinus"]["pr_s"]
        p_times, r_times = np.asarray(ev["p_times"]), np.asarray(ev["r_times"])
        assert set(ev["p_kinds"]) == {"sinus"} and set(ev["r_kinds"]) == {"normal"} and all(ev["p_conducted"])
        # One QRS per P, pr after it (a few ms of jitter).
        assert p_times.size == r_times.size
        np.testing.assert_allclose(r_times - p_times, pr, atol=0.025)  # 4 ms jitter
        # The atrial truth peaks where the events say, and nowhere else.
        measured = p_peaks(rec)
        expected = p_times[inside(p_times)]
        assert measured[inside(measured)].size == expected.size
        assert np.max(np.abs(measured[inside(measured)] - expected)) < 0.012
        # The P wave ends before the QRS starts: aa is quiet within 40 ms of each R.
        aa = np.abs(rec["aa"])
        for t in r_times[inside(r_times)]:
            assert aa[int(round((t - 0.04) * FS)):int(round((t + 0.04) * FS))].max() < 0.1 * aa.max()


def test_sinus_arrhythmia_varies_its_rate_more_than_sinus():
    def rr_cv(rhythm):
        out = []
        for index in range(8):
            r = np.asarray(record(rhythm, index)["params"]["events"]["r_times"])
            rr = np.diff(r)
            out.append(rr.std() / rr.mean())
        return np.asarray(out)

    steady, breathing = rr_cv("sinus"), rr_cv("sinus_arrhythmia")
    assert steady.max() < 0.04
    assert np.median(breathing) > 2 * np.median(steady)


def test_premature_beats_come_early_and_leave_the_right_pause():
    pacs = pvcs = 0
    for index in range(12):
        rec = record("ectopy", index, noise=QUIET)
        ev = rec["params"]["events"]
        sp = rec["params"]["sinus"]
        p_t, p_k, p_c = np.asarray(ev["p_times"]), np.asarray(ev["p_kinds"]), np.asarray(ev["p_conducted"])
        r_t, r_k = np.asarray(ev["r_times"]), np.asarray(ev["r_kinds"])
        cycle = 60.0 / sp["hr_bpm"]
        for k in np.flatnonzero(p_k == "pac"):
            pacs += 1
            # Early: the coupling is 55-80 % of the sinus cycle (which varies a few %).
            assert 0.45 * cycle < p_t[k] - p_t[k - 1] < 0.9 * cycle
            # Conducted: a normal QRS follows at about the PR interval.
            follow = r_t[(r_t > p_t[k]) & (r_t < p_t[k] + 0.35)]
            assert follow.size == 1 and 0.9 * sp["pr_s"] < follow[0] - p_t[k] < 1.3 * sp["pr_s"]
            # It resets the sinus node: the next sinus P comes one cycle after the PAC.
            if k + 1 < p_t.size:
                assert 0.85 * cycle < p_t[k + 1] - p_t[k] < 1.15 * cycle
        for k in np.flatnonzero(r_k == "pvc"):
            if k == 0 or k + 1 >= r_t.size:
                continue
            pvcs += 1
            assert r_k[k - 1] == "normal" and r_k[k + 1] == "normal"
            assert r_t[k] - r_t[k - 1] < 0.75 * cycle  # premature
            # No P of its own: no conducted P in the PR window before it.
            before = (p_t > r_t[k] - 1.3 * sp["pr_s"]) & (p_t < r_t[k] - 0.7 * sp["pr_s"]) & p_c
            assert not before.any()
            # Fully compensatory: the sinus P train went on, one P was blocked.
            assert 1.8 * cycle < r_t[k + 1] - r_t[k - 1] < 2.2 * cycle
            blocked = (p_t > r_t[k - 1]) & (p_t < r_t[k + 1]) & ~p_c
            assert blocked.sum() == 1
        # Every P of the truth is drawn, blocked ones included (a PAC's P may be half the size).
        measured = p_peaks(rec, share=0.25)
        assert measured[inside(measured)].size == inside(p_t).sum()
    assert pacs >= 5 and pvcs >= 5  # the test saw both kinds


def test_pvcs_have_a_wide_qrs_and_no_atrial_activity_of_their_own():
    rec = next(r for i in range(20) for r in [record("ectopy", i, noise=QUIET)]
               if "pvc" in r["params"]["events"]["r_kinds"])
    pvc = rec["params"]["qrst"]["pvc"]
    normal = rec["params"]["qrst"]["normal"]
    assert pvc["width"][1] > 2 * normal["width"][1]


def test_flutter_waves_have_their_rate_and_conduct_in_ratios():
    ratios_seen = set()
    for index in range(10):
        rec = record("flutter", index, noise=QUIET)
        fp, ev = rec["params"]["flutter"], rec["params"]["events"]
        f_t, r_t, conducted = (np.asarray(ev[k]) for k in ("f_times", "r_times", "conducted_f"))
        # The F-wave rate measured from the atrial truth.
        assert abs(dominant_frequency(rec["aa"], FS) - fp["rate_hz"]) < 0.15
        assert 4.0 <= fp["rate_hz"] <= 6.0
        np.testing.assert_allclose(np.diff(f_t), 1.0 / fp["rate_hz"], rtol=0.05)
        # Each QRS follows a conducted F wave by the AV delay, every 2nd, 3rd or 4th F wave.
        np.testing.assert_allclose(r_t - f_t[conducted], fp["av_delay_s"], atol=0.025)  # 4 ms jitter
        steps = np.diff(conducted)
        assert set(steps.tolist()) <= {2, 3, 4}
        if not fp["variable"]:
            assert set(steps.tolist()) == {fp["ratio"]}
        ratios_seen |= set(steps.tolist())
        assert 40.0 - 0.01 <= rms(rec["aa"]) * 1e3 <= 200.0 + 0.01
    assert ratios_seen == {2, 3, 4}


def test_fine_af_is_under_20_uv_and_af_is_the_af_only_generator():
    for index in range(6):
        assert 5.0 - 0.01 <= rms(record("af_fine", index)["aa"]) * 1e3 <= 20.0 + 0.01
    # An AF record drawn in a mixture is the AF-only generator's record of that (seed, index).
    mix = SynthConfig(mixture=tuple(MIXTURES["mix"].items()))
    index = next(i for i in range(40) if choose_rhythm(MIXTURES["mix"], 3, i) == "af")
    mixed = synthesize_record(index, 30.0, FS, 3, mix)
    alone = synthesize_record(index, 30.0, FS, 3)
    for name in SIGNALS:
        np.testing.assert_array_equal(mixed[name], alone[name])


def test_noise_records_are_noisy_and_lead_off_stretches_hold_no_heart():
    for index in range(5):
        rec = record("noise", index)
        stretches = rec["params"]["leadoff_s"]
        assert 1 <= len(stretches) <= 3
        assert rms(rec["noise"]) > 0.1  # heavy: the default AF records' noise is a few tens of uV
        for start, stop in stretches:
            a, b = int(round(start * FS)), int(round(stop * FS))
            assert b - a >= int(0.99 * FS)
            assert not rec["aa"][a:b].any() and not rec["va"][a:b].any()
            assert np.std(rec["ecg"][a:b]) < 0.02  # a flat line or a rail with a little hum
        assert rec["params"]["underlying"] in ("sinus", "af")


def test_mixture_shares_and_a_records_rhythm_do_not_depend_on_the_count():
    mix = parse_mixture("sinus=1,af=3")
    assert mix == {"sinus": 0.25, "af": 0.75}
    drawn = [choose_rhythm(mix, 9, i) for i in range(800)]
    share = drawn.count("af") / len(drawn)
    assert abs(share - 0.75) < 4 * np.sqrt(0.75 * 0.25 / 800)
    assert parse_mixture("af") == {"af": 1.0}
    assert abs(sum(parse_mixture("mix").values()) - 1.0) < 1e-12
    assert set(parse_mixture("mix")) == set(RHYTHMS)
    for bad in ("sinus=1,bogus=2", "af=-1", "af=0", "af=x"):
        with pytest.raises(AfkdError):
            parse_mixture(bad)


def test_cli_writes_rhythm_and_label_per_segment(tmp_path):
    out = tmp_path / "mix"
    assert cli.main(["data", "synth", "--records", "14", "--seconds", "6", "--seed", "2", "--rhythms", "mix",
                     "--dataset", "--out", str(out)]) == 0
    ds = Dataset(out)
    seen = set()
    for i in range(len(ds)):
        seg = ds.segment(i)
        assert seg["label"] == RHYTHM_LABELS[seg["rhythm"]]
        seen.add(seg["rhythm"])
    assert len(seen) >= 3
    # The WFDB route names the rhythm in the sidecar.
    wf = tmp_path / "wfdb"
    assert cli.main(["data", "synth", "--records", "2", "--seconds", "6", "--rhythms", "flutter",
                     "--flutter-hz", "5", "5.2", "--out", str(wf)]) == 0
    side = json.loads((wf / "synth_00000.json").read_text())
    assert side["rhythm"] == "flutter" and side["label"] == "O" and 5.0 <= side["flutter"]["rate_hz"] <= 5.2


def test_p_wave_amplitude_option_is_honoured():
    for index in range(4):
        rec = record("sinus", index, noise=QUIET, rhythms=RhythmConfig(p_wave_mv=(0.2, 0.2)))
        shape = rec["params"]["sinus"]["sinus_p"]
        assert shape["amplitude_mv"] == 0.2
        if shape["lobe2"] == 0.0:  # a single lobe: its peaks are the amplitude, jittered 4 % a beat
            peaks = rec["aa"][(p_peaks(rec) * FS).round().astype(int)]
            assert np.all(np.abs(peaks - 0.2) < 0.2 * 0.16)


@pytest.mark.parametrize("argv, words", [
    (["--rhythms", "sinus,bogus"], "unknown rhythm"),
    (["--p-wave-mv", "0.3", "0.1"], "--p-wave-mv"),
    (["--flutter-hz", "4", "200"], "--flutter-hz"),
    (["--fine-af-rms-uv", "0", "5"], "--fine-af-rms-uv"),
])
def test_bad_rhythm_options_say_one_line(tmp_path, capsys, argv, words):
    out = tmp_path / "x"
    assert cli.main(["data", "synth", "--records", "1", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not out.exists()


def test_inverted_records_are_the_same_records_negated():
    for rhythm in ("sinus", "af"):
        upright = record(rhythm, 2)
        flipped = record(rhythm, 2, inverted_share=1.0)
        assert flipped["params"]["inverted"] and not upright["params"]["inverted"]
        for name in SIGNALS:
            np.testing.assert_array_equal(flipped[name], -upright[name])
        np.testing.assert_array_equal(flipped["ecg"], flipped["aa"] + flipped["va"] + flipped["noise"])
    shares = [record("sinus", i, seconds=2.0, inverted_share=0.3)["params"]["inverted"] for i in range(300)]
    assert abs(np.mean(shares) - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 300)


def test_tremor_is_noise_inside_the_atrial_band_and_only_when_asked():
    shaky = record("sinus", 1, noise=NoiseLevels(0, 0, 0, 0, 0, tremor_mv=0.04))
    level = shaky["params"]["noise"]["tremor_mv"]
    assert 0 < level <= 0.04 and abs(rms(shaky["noise"]) - level) < 0.01 * level
    f, p = signal.welch(shaky["noise"], fs=FS, nperseg=1000)
    assert p[(f >= 3) & (f <= 12)].sum() > 0.9 * p.sum()
    # Without tremor nothing is drawn for it: the default records are those made before it existed.
    assert record("af", 1)["params"]["noise"]["tremor_mv"] == 0.0
