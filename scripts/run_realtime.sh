#!/usr/bin/env bash
# Train the four mini-Xception models of Chapter 4 in sequence (FER labels first, then FERPlus
# majority, cleaned FER labels, FERPlus soft targets). Finished ones are loaded, an
# interrupted one resumes from its checkpoint.
#   FER_DATA_DIR=/path/to/data nohup scripts/run_realtime.sh > realtime.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2  # oneDNN stays on: fer_utils/runtime.py
for name in mx-fer mx-ferplus mx-fer-clean mx-ferplus-soft; do
  .venv/bin/python -m fer_utils train "realtime/${name}" --no-progress
  .venv/bin/python -c "
from fer_utils import predict, train
art = train.train(train.TrainConfig.named('realtime/${name}'))
print('tflite:', predict.export_tflite(art.model_path))"
done
