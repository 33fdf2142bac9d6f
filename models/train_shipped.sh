#!/usr/bin/env bash
# The exact commands that produced the shipped models (models/README.md). CPU only, 2 threads.
# Usage: bash models/train_shipped.sh [WORKDIR]   (default build/models; copies results into models/)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-build/models}
AFKD=.venv/bin/afkd
COMMON="--val $W/val --val-segments 40 --batch-size 4 --crop-seconds 6 --threads 2 --no-progress"

$AFKD data synth --records 400 --seconds 30 --seed 1 --dataset --out $W/train
$AFKD data synth --records 200 --seconds 30 --seed 2 --dataset --out $W/val

# Teacher: the paper's N=256, R=3, non-causal with global layer norm.
$AFKD train --preset teacher --data $W/train $COMMON --epochs 10 --steps-per-epoch 300 --seed 0 --out $W/teacher

# Students: N=32, R=1, causal, BatchNorm; same data, steps and seed; only the KD term differs.
for method in fitnet at none; do
    $AFKD distill --teacher $W/teacher/best.pt --method $method --data $W/train $COMMON \
        --epochs 10 --steps-per-epoch 300 --seed 0 --out $W/student_$method
done

# Ablation of the information interaction module: the no-KD student without it.
$AFKD train --preset student --no-interaction --data $W/train $COMMON --epochs 10 --steps-per-epoch 300 \
    --seed 0 --out $W/student_none_no_interaction

cp $W/teacher/best.pt models/teacher.pt
for run in fitnet at none none_no_interaction; do cp $W/student_$run/best.pt models/student_$run.pt; done
