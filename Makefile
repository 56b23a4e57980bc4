# Flute X: everything is set up from this repository's own files into .venv/ and sim/node_modules/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
JS_STAMP := sim/node_modules/.package-lock.json
# MicroPython's stubs replace the standard library's for mypy, so they live apart from the venv's packages
STUBS := $(VENV)/stubs
STUBS_STAMP := $(STUBS)/.installed

.PHONY: help setup demo test typecheck lint bench bench-pitch clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: $(PY_STAMP) $(JS_STAMP)  ## make the Python venv and install the simulator's Node packages

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(JS_STAMP): sim/package.json sim/package-lock.json
	cd sim && npm ci --no-audit --no-fund --loglevel=error

$(STUBS_STAMP): firmware-stubs.txt $(PY_STAMP)
	rm -rf $(STUBS)
	$(BIN)/pip install --quiet --target $(STUBS) -r firmware-stubs.txt
	touch $@

demo: setup  ## run a simulated session: real firmware in real MicroPython, host over a pty
	$(BIN)/flutex demo

test: setup $(STUBS_STAMP)  ## lint, type-check the firmware, then the whole test suite
	$(BIN)/ruff check .
	$(BIN)/mypy --config-file mypy-firmware.ini
	$(BIN)/python -m pytest

typecheck: setup $(STUBS_STAMP)  ## type-check the firmware against MicroPython 1.27's ESP32 stubs
	$(BIN)/mypy --config-file mypy-firmware.ini

bench: setup  ## print the benchmarks (protocol cost per frame on both sides)
	$(BIN)/python benchmarks/wire.py

# needs Debian packages fluidsynth fluid-soundfont-gm sox (renders the test set); pYIN comes from the bench extra
bench-pitch: setup  ## pitch tracker vs aubio yinfft/yin and librosa pYIN on rendered instruments (~5 min)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/pitch.py

clean:  ## remove the environment
	rm -rf $(VENV) sim/node_modules
