#!/usr/bin/env bash
# Long trainings, one at a time (two at once halve each other on 2 cores): recipe names
# (vgg-net-s0) or full config names (saliency/resnet50).
# Finished ones are loaded; an interrupted one continues from checkpoints/<key>/ (commit that
# folder, `git add checkpoints/<key>`, to continue on another machine).
#   FER_DATA_DIR=/path/to/data nohup scripts/run_recipe.sh > recipe.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2  # oneDNN stays on: fer_utils/runtime.py
for name in "${@:-vgg-net-s0}"; do
  [[ "$name" == */* ]] || name="recipe/${name}"
  .venv/bin/python -m fer_utils train "$name"
done
