# Reading Faces — the two commands of the README are `make book` and `make test`.
# Both create the virtual environment .venv on first use (Python 3.11 and the package
# registries are all they need) and reinstall it when pyproject.toml changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `make campaign` starts the campaign in its own session, so that its autogroup can be lowered
# too (campaign.lowest_priority); where there is no setsid (macOS), plain nice is all there is
SETSID := $(shell command -v setsid)
# quiet TensorFlow (oneDNN is the package's to set: fer_utils/runtime.py)
export TF_CPP_MIN_LOG_LEVEL  := 2
export MPLBACKEND            := Agg
# Real data when .ci/run or the user points here; otherwise the offline sample is used.
FER_QUICK ?= 1

.PHONY: help env test test-colab unit lint notebooks-test book check-book check-live refresh clean campaign campaign-status

help:
	@echo "make book   build the HTML book into _build/html (from the committed notebook outputs)"
	@echo "make test   unit tests + every chapter under nbval in quick mode (FER_QUICK=1)"
	@echo "make test-colab  the Colab replica: Python 3.13 with Colab's versions, the chapters' install line, tests and chapters"
	@echo "make unit   unit tests only"
	@echo "make lint   ruff (configured in pyproject.toml)"
	@echo "make check-book  build the book, check links and images, open every page in headless Chromium"
	@echo "make check-live  JupyterLab + headless Chromium: run chapters 6 and 4, use their widgets"
	@echo "make refresh  re-run every chapter in place on the real data (FER_QUICK=0; slow)"
	@echo "make env    create/update the virtual environment .venv"
	@echo "make campaign  start the training campaign in the background (nice 19; log: checkpoints/campaign.log)"
	@echo "make campaign-status  where each run of the campaign stands"

env: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || (echo "Python 3.11 not found: install it or pass PYTHON=/path/to/python3.11" && exit 1)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[cpu,dev,book,scale]"
	@touch $@

# Tests run in JOBS processes (pytest-xdist); --dist loadscope keeps each notebook's cells, and
# each test module, in one process, in order; the notebooks, the longest units, go first so the
# two processes finish together. JOBS=1 runs everything in this process.
JOBS ?= 2
XDIST = $(if $(filter 1,$(JOBS)),,-n $(JOBS) --dist loadscope)

test: $(STAMP)
	$(BIN)/ruff check .
	FER_QUICK=$(FER_QUICK) $(BIN)/python -m pytest chapters appendix tests --nbval-lax --nbval-current-env \
	    --nbval-cell-timeout=900 -p no:cacheprovider $(XDIST) --durations=15

# Colab's current runtime on this machine (scripts/colab_replica.sh): needs Python 3.13
# (python3.13 on the PATH, pyenv's, or PY313=...) and MediaPipe's face_landmarker.task
# (../shared/mediapipe, or FER_FACE_LANDMARKER=...).
test-colab:
	scripts/colab_replica.sh all

lint: $(STAMP)
	$(BIN)/ruff check .

unit: $(STAMP)
	$(BIN)/python -m pytest tests -p no:cacheprovider $(XDIST)

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "Open _build/html/index.html"

check-book: book
	$(BIN)/python scripts/check_book.py _build/html

check-live: $(STAMP)
	$(BIN)/python scripts/live_widgets.py

# figures must reach the outputs as PNGs: the inline backend, not the Agg exported above
refresh: $(STAMP)
	@test -n "$$FER_DATA_DIR" || (echo "set FER_DATA_DIR to the real data first (README, 'Getting the data')" && exit 1)
	for nb in chapters/*.ipynb appendix/*.ipynb; do \
	  FER_QUICK=0 MPLBACKEND=module://matplotlib_inline.backend_inline \
	    $(BIN)/jupyter execute --inplace --timeout=7200 "$$nb" || exit 1; \
	done

# The training campaign (fer_utils/campaign.py): start it first whenever you begin work; it
# lowers itself to nice 19 and continues every run from checkpoints/. Needs the real data.
campaign: $(STAMP)
	@test -n "$$FER_DATA_DIR" || (echo "set FER_DATA_DIR to the real data first (README, 'Getting the data')" && exit 1)
	nohup $(SETSID) nice -n 19 $(BIN)/python -m fer_utils campaign run $(CAMPAIGN_ARGS) >> checkpoints/campaign.log 2>&1 &
	@echo "campaign started: tail -f checkpoints/campaign.log; make campaign-status"

campaign-status: $(STAMP)
	$(BIN)/python -m fer_utils campaign status

clean:
	rm -rf _build .pytest_cache
