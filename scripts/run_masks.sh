#!/usr/bin/env bash
# Train the masked models of Chapter 7 in sequence (simple masks first). Already-trained ones
# are loaded; an interrupted one resumes from its checkpoint.
#   FER_DATA_DIR=/path/to/data nohup scripts/run_masks.sh > masks.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2  # oneDNN stays on: fer_utils/runtime.py
.venv/bin/python -m fer_utils train ablation/cnn-d4-s0 --no-progress  # the unmasked model
for mask in forehead eyes mouth lm-forehead lm-eyes lm-mouth; do
  .venv/bin/python -m fer_utils train "masks/cnn-d4-s0-${mask}" --no-progress
done
# VGG-16 and ResNet-50 in the CPU-sized configuration (fer_utils/configs/saliency/README.md)
.venv/bin/python -m fer_utils train saliency/vgg16-convbn --no-progress
.venv/bin/python -m fer_utils train saliency/resnet50 --no-progress
