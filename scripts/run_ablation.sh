#!/usr/bin/env bash
# Train every depth-ablation config (Chapter 3) in sequence: seed 0 of each depth first, so a
# partial run already covers every depth. Already-trained configs are loaded, not retrained;
# an interrupted one resumes from its checkpoint. Log: one line per finished model.
#   FER_DATA_DIR=/path/to/data nohup scripts/run_ablation.sh > ablation.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2  # oneDNN stays on: fer_utils/runtime.py
for seed in 0 1 2; do
  for depth in 3 4 5 6; do
    .venv/bin/python -m fer_utils train "ablation/cnn-d${depth}-s${seed}" --no-progress
  done
done
