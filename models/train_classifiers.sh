#!/usr/bin/env bash
# The exact commands that produced the shipped classifiers (models/README.md, "Classifiers"). CPU only,
# one thread each (they ran two or three at a time on a shared two-core machine).
# Usage: bash models/train_classifiers.sh CINC_DIR MITDB_DIR [WORKDIR]
#   CINC_DIR:  the CinC 2017 training set (8,528 .hea/.mat) with REFERENCE-v3.csv inside
#              (afkd data download cinc2017 --out CINC_DIR)
#   MITDB_DIR: the MIT-BIH Arrhythmia Database (afkd data download mitdb --out MITDB_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
CINC=$1
MITDB=$2
W=${3:-build/classifiers}
AFKD=.venv/bin/afkd
mkdir -p "$W"

# Data: the 7,528 allowed CinC records whole, with the official v3 labels; MIT-BIH lead MLII with
# its beats in AAMI classes, split into de Chazal's DS1 (training) and DS2 (test), paced excluded.
$AFKD data import "$CINC" --kind records --labels "$CINC/REFERENCE-v3.csv" --skip-heldout --out "$W/cinc"
DS1="101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230"
DS2="100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 231 232 233 234"
records() { for r in $1; do echo "$MITDB/$r"; done; }
$AFKD data import $(records "$DS1") --kind beats --lead MLII --out "$W/mit_ds1"
$AFKD data import $(records "$DS2") --kind beats --lead MLII --out "$W/mit_ds2"
$AFKD data import $(records "$DS1 $DS2") --kind beats --lead MLII --out "$W/mit_all"

# Rhythm: the validation split is 10 % of each label, seed 0 (models/cinc2017_val_records.txt).
RHYTHM="--task rhythm --data $W/cinc --val-fraction 0.1 --seed 0 --batch-size 16 --class-weighting sqrt \
    --augment --threads 1 --no-progress"
# Compact detector (stop 24): a random half of the training records sign-flipped (reversed leads);
# 4 epochs at the constant rate, then resumed (weights and Adam state) to 10 epochs, the last 4
# decaying, then 8 more epochs from the rate 1e-3, all decaying. best.pt: epoch 17. (The detector
# shipped until stop 23 is the same three commands without --invert-share; its best.pt was epoch 15.)
DETECTOR="--preset detector --invert-share 0.5"
( $AFKD train $RHYTHM $DETECTOR --lr 2e-3 --epochs 4 --out "$W/detector" &&
  $AFKD train $RHYTHM $DETECTOR --lr 2e-3 --epochs 10 --lr-decay-epochs 4 --resume "$W/detector/last.pt" \
      --out "$W/detector" &&
  $AFKD train $RHYTHM $DETECTOR --lr 1e-3 --epochs 18 --lr-decay-epochs 8 --resume "$W/detector/last.pt" \
      --out "$W/detector" ) &
# Dense reference: Hannun et al.'s 34 layers at a quarter of the paper's width (8 first-stage filters).
# 150 steps of 20 s crops an epoch; 2 epochs at the constant rate, then resumed to 12, the last 4 decaying
# (it ran as --epochs 4 --lr-decay-epochs 2 first, stopped after epoch 2: the same rates up to there).
( $AFKD train $RHYTHM --preset resnet34-narrow --lr 1e-3 --epochs 2 --steps-per-epoch 150 --crop-seconds 20 \
      --out "$W/resnet34_narrow" &&
  $AFKD train $RHYTHM --preset resnet34-narrow --lr 1e-3 --epochs 12 --lr-decay-epochs 4 --steps-per-epoch 150 \
      --crop-seconds 20 --resume "$W/resnet34_narrow/last.pt" --out "$W/resnet34_narrow" &&
  # a third phase: 8 more epochs from 1e-3, all decaying (stopped after epoch 19 of 20; best.pt: epoch 19)
  $AFKD train $RHYTHM --preset resnet34-narrow --lr 1e-3 --epochs 20 --lr-decay-epochs 8 --steps-per-epoch 150 \
      --crop-seconds 20 --resume "$W/resnet34_narrow/last.pt" --out "$W/resnet34_narrow" ) &
# Beats: DS1 only; the checkpoint is picked on a random 10 % of DS1's beats, DS2 is never seen.
BEATS="--task beats --preset beat-cnn --batch-size 128 --lr 1e-3 --class-weighting sqrt --augment --seed 0 \
    --threads 1 --no-progress"
$AFKD train $BEATS --data "$W/mit_ds1" --val-fraction 0.1 --epochs 16 --lr-decay-epochs 6 --out "$W/beat_cnn"
# Intra-patient figure (the paper's protocol): a random 80/20 split of the beats of all 44 records.
$AFKD train $BEATS --data "$W/mit_all" --val-fraction 0.2 --epochs 6 --steps-per-epoch 400 --lr-decay-epochs 2 \
    --out "$W/beat_cnn_intra"
wait

for run in detector resnet34_narrow beat_cnn; do
    cp "$W/$run/best.pt" "models/$run.pt"
    cp "$W/$run/log.json" "models/$run.log.json"
done
