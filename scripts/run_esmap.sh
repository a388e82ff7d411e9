#!/usr/bin/env bash
# Train the ES-MAP chapter's experiments (fer_utils.mapnet.table_configs) in order. Finished
# ones are loaded, an interrupted one resumes from its checkpoint. Landmarks are extracted
# once (about 9 min for FER-2013) and cached.
#   FER_DATA_DIR=/path/to/data nohup scripts/run_esmap.sh > esmap.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2  # oneDNN stays on: fer_utils/runtime.py
.venv/bin/python - <<'PY'
from fer_utils import data, landmarks, mapnet

ds = data.load_fer2013(allow_sample=False, progress=False)
marks = landmarks.dataset_landmarks(ds.images, progress=False)
print(marks.summary(), flush=True)
for config in mapnet.table_configs():
    art = mapnet.run(config, ds, marks, progress=False)
    m = art.metrics
    print(f"{config.name}: test accuracy {m['test']['accuracy']:.3f} on {m['test']['n']} "
          f"detected faces ({m['test_all']['accuracy']:.3f} counting "
          f"{m['test_all']['n_undetected']} undetected), {m['epochs_trained']} epochs, "
          f"{m['seconds_per_epoch']} s/epoch", flush=True)
PY
