#!/usr/bin/env bash
# `make test-colab`: the course as a Colab reader gets it, on this machine.
#
# 1. A Python 3.13 environment (.venv-colab) with the packages Colab's default runtime ships
#    that the course or its notebooks touch, at Colab's versions (colab/constraints-*.txt, made
#    from Colab's published pip freeze; tensorflow-cpu stands for tensorflow).
# 2. Those versions are recorded (.venv-colab/recorded.txt).
# 3. The chapters' install line runs against this checkout, as the set-up cell runs it in Colab.
# 4. No recorded version of a package the course uses may have changed (scripts/colab_check.py).
# 5. The unit tests that apply, and every chapter under nbval in quick mode, landmarks through
#    MediaPipe's Tasks API with the model bundle in ../shared/mediapipe (FER_FACE_LANDMARKER).
#
#   PY313=/path/to/python3.13 scripts/colab_replica.sh [build|test|all]   (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
step="${1:-all}"
VENV=.venv-colab
CONSTRAINTS=colab/constraints-2026-08-19-py313.txt
# Python 3.13: $PY313, else pyenv's, else python3.13 on the PATH; the first that really runs
# (pyenv's shim answers `command -v` even when 3.13 is not its selected version)
find_py313() {
  local c
  for c in ${PY313:-} $(ls -d "$HOME"/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | sort -V -r) \
           $(command -v python3.13 2>/dev/null); do
    if "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
      echo "$c"; return
    fi
  done
}
PY313="$(find_py313)"
# what Colab ships and the course (or running its notebooks) uses
COLAB_SHIPS=(tensorflow-cpu keras numpy protobuf ipywidgets ipykernel ipython matplotlib pandas
             scikit-learn opencv-contrib-python umap-learn seaborn numba scikit-image tqdm pillow
             h5py absl-py flatbuffers requests nbformat nbclient jupyter_client)
# test tools: not Colab's, installed after the check, at Colab's versions where Colab has them
TEST_TOOLS=(pytest nbval hypothesis pytest-timeout pytest-xdist pyyaml)

if [ "$step" = build ] || [ "$step" = all ]; then
  [ -n "$PY313" ] || { echo "Python 3.13 not found: install it (pyenv install 3.13) or set PY313"; exit 1; }
  if [ ! -f "$VENV/recorded.txt" ] || [ "$CONSTRAINTS" -nt "$VENV/recorded.txt" ]; then
    rm -rf "$VENV"
    "$PY313" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -c "$CONSTRAINTS" "${COLAB_SHIPS[@]}"
    "$VENV/bin/python" -m pip freeze --all > "$VENV/recorded.txt"
  fi
  # the set-up cell's line, with this checkout in place of the repository's address
  "$VENV/bin/python" -m pip freeze --all > "$VENV/before-install.txt"
  "$VENV/bin/python" scripts/colab_check.py install-line --checkout "$PWD" > "$VENV/install-line.txt"
  echo "install line: $(cat "$VENV/install-line.txt")"
  eval "$VENV/bin/python -m pip install --quiet --force-reinstall --no-deps $(cat "$VENV/install-line.txt")" >/dev/null
  eval "$VENV/bin/python -m pip install --quiet $(cat "$VENV/install-line.txt")"
  "$VENV/bin/python" -m pip freeze --all > "$VENV/after-install.txt"
  "$VENV/bin/python" scripts/colab_check.py compare "$VENV/recorded.txt" "$VENV/after-install.txt" \
      --since "$VENV/before-install.txt"
  "$VENV/bin/python" -m pip install --quiet -c "$CONSTRAINTS" "${TEST_TOOLS[@]}"
fi

if [ "$step" = test ] || [ "$step" = all ]; then
  export FER_FACE_LANDMARKER="${FER_FACE_LANDMARKER:-$(cd ../shared/mediapipe 2>/dev/null && pwd)/face_landmarker.task}"
  [ -f "$FER_FACE_LANDMARKER" ] || { echo "no face_landmarker.task: set FER_FACE_LANDMARKER"; exit 1; }
  export FER_QUICK=1 MPLBACKEND=Agg TF_CPP_MIN_LOG_LEVEL=2
  "$VENV/bin/python" -m fer_utils info
  "$VENV/bin/python" -m pytest tests chapters appendix -m "not offline_only" --nbval-lax \
      --nbval-current-env --nbval-cell-timeout=900 -p no:cacheprovider -n 2 --dist loadscope \
      --durations=10
fi
