"""``afkd data synth | import | info``: make and inspect datasets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from afkd.argtypes import finite_float, nonnegative_float, nonnegative_int, positive_float, positive_int
from afkd.errors import AfkdError
from afkd.outdir import DATASET, SYNTH_WFDB, check_out_dir, check_out_file

FORCE_HELP = "replace --out even when it holds files that are not an earlier output of this command"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")

    synth = sub.add_parser("synth", help="synthesize ECG records (AF or a mixture of rhythms) with atrial and "
                           "ventricular ground truth",
                           description="Write synthetic ECG (ecg = aa + va + noise) as WFDB records "
                           "(signals ecg, aa, va, noise in mV) with a JSON sidecar of the drawn "
                           "parameters each, or directly as a dataset directory (--dataset). The atrial "
                           "truth aa is the f-waves of AF, the F waves of flutter, the P waves of sinus "
                           "rhythms, and 0 in lead-off stretches.")
    synth.add_argument("--records", type=positive_int, default=20, help="number of records (default 20)")
    synth.add_argument("--seconds", type=positive_float, default=30.0, help="length of each record in s (default 30)")
    synth.add_argument("--fs", type=positive_float, default=250.0, help="sampling rate in Hz (default 250)")
    synth.add_argument("--seed", type=nonnegative_int, default=0, help="random seed; same seed, same records (default 0)")
    synth.add_argument("--out", required=True, help="output directory (replaced atomically)")
    synth.add_argument("--force", action="store_true", help=FORCE_HELP)
    synth.add_argument("--dataset", action="store_true",
                       help="write a dataset directory (as `afkd data import` would) instead of WFDB records")
    synth.add_argument("--rhythms", default="af", metavar="MIX",
                       help="rhythm of each record: 'af' (default, AF only), 'mix' (the mixture the shipped "
                       "models were fine-tuned on) or NAME=WEIGHT,... of sinus, sinus_arrhythmia, ectopy, "
                       "flutter, af, af_fine, noise (labels N, N, O, O, A, A, ~)")
    synth.add_argument("--inverted-share", type=nonnegative_float, default=0.0, metavar="P",
                       help="share of records with the lead reversed, every signal negated (default 0)")
    synth.add_argument("--p-wave-mv", type=finite_float, nargs=2, metavar=("LO", "HI"), default=(0.05, 0.25),
                       help="range of the P-wave peak in mV of the sinus rhythms (default 0.05 0.25)")
    synth.add_argument("--flutter-hz", type=finite_float, nargs=2, metavar=("LO", "HI"), default=(4.0, 6.0),
                       help="range of the flutter F-wave rate in Hz (default 4 6)")
    synth.add_argument("--flutter-rms-uv", type=finite_float, nargs=2, metavar=("LO", "HI"), default=(40.0, 200.0),
                       help="range of the F-wave RMS in uV, drawn log-uniform (default 40 200)")
    synth.add_argument("--fine-af-rms-uv", type=finite_float, nargs=2, metavar=("LO", "HI"), default=(5.0, 20.0),
                       help="range of the f-wave RMS of af_fine records in uV, log-uniform (default 5 20)")
    synth.add_argument("--f0", type=finite_float, nargs=2, metavar=("LO", "HI"), default=(3.0, 9.0),
                       help="range of the dominant f-wave frequency in Hz (default 3 9)")
    synth.add_argument("--aa-rms-uv", type=finite_float, nargs=2, metavar=("LO", "HI"), default=(15.0, 150.0),
                       help="range of the f-wave RMS in uV, drawn log-uniform (default 15 150)")
    synth.add_argument("--baseline-mv", type=nonnegative_float, default=0.2,
                       help="max baseline wander amplitude in mV; per record drawn in [0, max] (default 0.2)")
    synth.add_argument("--emg-mv", type=nonnegative_float, default=0.02,
                       help="max EMG-like muscle noise RMS in mV; per record drawn in [0, max] (default 0.02)")
    synth.add_argument("--powerline-mv", type=nonnegative_float, default=0.02,
                       help="max 50/60 Hz power-line amplitude in mV; per record drawn in [0, max] (default 0.02)")
    synth.add_argument("--motion-per-minute", type=nonnegative_float, default=0.0,
                       help="expected electrode-motion bursts per minute (default 0: none)")
    synth.add_argument("--motion-mv", type=nonnegative_float, default=0.5, help="peak amplitude of a motion burst in mV")
    synth.add_argument("--tremor-mv", type=nonnegative_float, default=0.0,
                       help="max RMS in mV of tremor-like noise inside the atrial band (3-12 Hz); per record "
                       "drawn in [0, max] (default 0: none)")

    imp = sub.add_parser("import", help="import WFDB records (AFDB, MIT-BIH, CinC 2017, synthetic) into a dataset",
                         description="Read WFDB records (record paths or directories of .hea files), "
                         "resample to --fs, high-pass (1st-order Butterworth 0.01 Hz, causal), cut into "
                         "segments and write a dataset directory. REFERENCE.csv beside CinC records gives "
                         "labels; .atr rhythm annotations label MIT-BIH/AFDB segments.")
    imp.add_argument("sources", nargs="+", help="record paths (with or without .hea) or directories")
    imp.add_argument("--out", required=True, help="dataset directory to write (replaced atomically)")
    imp.add_argument("--force", action="store_true", help=FORCE_HELP)
    imp.add_argument("--fs", type=positive_float, default=250.0, help="model sampling rate in Hz (default 250)")
    imp.add_argument("--lead", default=None, help="lead name (e.g. MLII) or index (default: the first lead)")
    imp.add_argument("--segment-seconds", type=positive_float, default=30.0, help="segment length in s (default 30)")
    imp.add_argument("--overlap", type=nonnegative_float, default=0.0, help="overlap of successive segments in s (default 0)")
    imp.add_argument("--min-seconds", type=positive_float, default=5.0,
                     help="reject records (and AF episodes) shorter than this, in s (default 5)")
    imp.add_argument("--episodes", choices=("all", "af"), default="all",
                     help="all: segment the whole record; af: only (AFIB episodes of the .atr annotations")
    imp.add_argument("--kind", choices=("segments", "records", "beats"), default="segments",
                     help="segments: fixed --segment-seconds pieces (default); records: each record whole "
                          "(variable length, the rhythm classifiers); beats: each record whole plus its "
                          "annotated beats in AAMI classes N, S, V, F, Q (MIT-BIH .atr)")
    imp.add_argument("--labels", metavar="CSV",
                     help="CinC labels for every record, rows record,label (e.g. REFERENCE-v3.csv; a "
                          "folder prefix like A00/ is dropped); default: REFERENCE.csv beside the records")
    imp.add_argument("--skip-heldout", action="store_true",
                     help="leave out the 1,000 CinC 2017 records held out for independent evaluation")
    imp.add_argument("--strict", action="store_true",
                     help="stop at the first bad record of a directory instead of skipping it")

    dl = sub.add_parser("download", help="download a PhysioNet database (cinc2017, mitdb, afdb, ltafdb)",
                        description="Download a PhysioNet database with wfdb's download functions into a new "
                        "directory (all records in one folder, ready for `afkd data import`). cinc2017 also "
                        "fetches REFERENCE-v3.csv, the official labels: import with --labels OUT/REFERENCE-v3.csv.")
    dl.add_argument("database", choices=("cinc2017", "mitdb", "afdb", "ltafdb"))
    dl.add_argument("--out", required=True, help="new directory to download into (must not exist or be empty)")
    dl.add_argument("--base-url", default="https://physionet.org",
                    help="PhysioNet or a mirror of its layout (content/<db>/, files/<db>/<version>/)")
    dl.add_argument("--records", nargs="+", metavar="NAME", help="only these records (default: all)")

    info = sub.add_parser("info", help="counts, durations, labels, amplitude and f0 histograms of a dataset",
                          description="Summarize a dataset directory and write a PNG of histograms.")
    info.add_argument("dir", help="dataset directory")
    info.add_argument("--png", default=None,
                      help="where to write the histograms (default DIR/info.png; with --json, only when given)")
    info.add_argument("--json", action="store_true",
                      help="print the figures as one JSON object (per-segment lists included) instead of lines")


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "data_command", None)
    if action == "synth":
        return _synth(args)
    if action == "import":
        return _import(args)
    if action == "info":
        return _info(args)
    if action == "download":
        return _download(args)
    raise AfkdError("name an action: synth, import, download or info (see afkd data --help)")


def _download(args) -> int:
    from afkd.training.data.download import download_database

    summary = download_database(args.database, args.out, args.base_url, args.records)
    extra = f" and {', '.join(summary['extra_files'])}" if summary["extra_files"] else ""
    print(f"downloaded {summary['records']} {args.database} records{extra} into {args.out}")
    return 0


def _synth(args) -> int:
    from afkd.training.data.synth import SynthConfig, synth_dataset, write_synth_wfdb
    from afkd.training.data.synth_fwaves import FwaveRanges
    from afkd.training.data.synth_flutter import FlutterRanges
    from afkd.training.data.synth_noise import NoiseLevels
    from afkd.training.data.synth_rhythms import RhythmConfig, parse_mixture

    check_out_dir(args.out, DATASET if args.dataset else SYNTH_WFDB, force=args.force)
    if args.records < 1 or args.seconds <= 0:
        raise AfkdError("--records must be >= 1 and --seconds > 0")
    if args.seconds > 86400 or not 100 <= args.fs <= 20000:
        raise AfkdError(f"--seconds {args.seconds:g} / --fs {args.fs:g}: a record is at most a day long, "
                        "sampled at 100 to 20000 Hz")
    lo, hi = args.f0
    if not 0 < lo <= hi < args.fs / 2:
        raise AfkdError(f"--f0 {lo:g} {hi:g}: need 0 < LO <= HI < fs/2")
    for flag in ("aa_rms_uv", "p_wave_mv", "flutter_rms_uv", "fine_af_rms_uv"):
        lo_v, hi_v = getattr(args, flag)
        if not 0 < lo_v <= hi_v:
            raise AfkdError(f"--{flag.replace('_', '-')} {lo_v:g} {hi_v:g}: need 0 < LO <= HI")
    if not 0 < args.flutter_hz[0] <= args.flutter_hz[1] < args.fs / 2:
        raise AfkdError(f"--flutter-hz {args.flutter_hz[0]:g} {args.flutter_hz[1]:g}: need 0 < LO <= HI < fs/2")
    mixture = parse_mixture(args.rhythms)
    if not 0.0 <= args.inverted_share <= 1.0:
        raise AfkdError(f"--inverted-share {args.inverted_share:g}: must be between 0 and 1")
    levels = (args.baseline_mv, args.emg_mv, args.powerline_mv, args.motion_per_minute, args.motion_mv, args.tremor_mv)
    if min(levels) < 0:
        raise AfkdError("noise levels must be >= 0")
    rhythms = RhythmConfig(p_wave_mv=tuple(args.p_wave_mv), fine_af_rms_uv=tuple(args.fine_af_rms_uv),
                           flutter=FlutterRanges(rate_hz=tuple(args.flutter_hz), rms_uv=tuple(args.flutter_rms_uv)))
    config = SynthConfig(fwaves=FwaveRanges(f0_hz=(lo, hi), rms_uv=tuple(args.aa_rms_uv)),
                         noise=NoiseLevels(*levels), mixture=tuple(mixture.items()), rhythms=rhythms,
                         inverted_share=args.inverted_share)
    write = synth_dataset if args.dataset else write_synth_wfdb
    out = write(args.out, args.records, args.seconds, args.fs, args.seed, config)
    kind = "dataset" if args.dataset else "WFDB records"
    mix = ", ".join(f"{name} {share:.0%}" for name, share in mixture.items())
    print(f"wrote {args.records} synthetic records ({args.seconds:g} s at {args.fs:g} Hz; {mix}) as {kind} to {out}")
    return 0


def _import(args) -> int:
    from afkd.training.data.importer import ImportOptions, import_dataset

    check_out_dir(args.out, DATASET, inputs=args.sources, force=args.force)
    options = ImportOptions(fs=args.fs, lead=args.lead, segment_seconds=args.segment_seconds,
                            overlap_seconds=args.overlap, min_seconds=args.min_seconds, episodes=args.episodes,
                            kind=args.kind, labels=args.labels, skip_heldout=args.skip_heldout)
    summary = import_dataset(args.out, args.sources, options, strict=args.strict)
    skipped = f", skipped {len(summary['skipped'])} bad records" if summary["skipped"] else ""
    if summary["rejected"]:
        skipped += f", left out {len(summary['rejected'])} lead-off or clipped segments (see afkd data info)"
    if summary["heldout_left_out"]:
        skipped += f", left out {summary['heldout_left_out']} held-out records"
    beats = f" with {summary['beats']} beats" if options.kind == "beats" else ""
    print(f"imported {summary['records']} records as {summary['segments']} segments{beats} into {args.out}{skipped}")
    return 0


def _info(args) -> int:
    from afkd.training.data.dataset import Dataset
    from afkd.training.data.info import dataset_stats, summary_lines, write_histograms

    check_out_file(args.png, flag="--png")
    ds = Dataset(args.dir)
    stats = dataset_stats(ds)
    if args.json:  # stdout holds the JSON alone, for scripts
        if args.png:
            write_histograms(stats, args.png, title=str(args.dir))
        print(json.dumps({"dir": str(args.dir), **stats}, indent=1))
        return 0
    for line in summary_lines(stats):
        print(line)
    png = write_histograms(stats, args.png or Path(args.dir) / "info.png", title=str(args.dir))
    print(f"histograms: {png}")
    return 0
