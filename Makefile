# Quick start: `make` (install, run the pipeline, build the site) and `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CORES  ?= 8
# Extra Snakemake options for `make` / `make pipeline`, e.g. SNAKEFLAGS="--forcerun kernels".
SNAKEFLAGS ?=
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: all install pipeline docs test test-slow serve report clean-site

all: pipeline docs

install: $(STAMP)

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Recovers from a killed run on its own: the profile sets rerun-incomplete (jobs that were
# running are redone), and a lock the killed Snakemake left is released first, but only
# when no Snakemake or job of it still runs in this folder (scripts/unlock_if_stale.py).
PROFILE := --workflow-profile workflow/profiles/default
pipeline: $(STAMP)
	$(BIN)/python scripts/unlock_if_stale.py $(BIN)/snakemake $(PROFILE)
	$(BIN)/snakemake --cores $(CORES) $(PROFILE) $(SNAKEFLAGS)

report: $(STAMP)
	$(BIN)/python -m actbench report --results results --out docs/generated
	$(BIN)/python -m actbench.notebook --results results --out docs/generated/experiments.ipynb

docs: $(STAMP)
	test -f docs/generated/numbers.json -a -f docs/generated/experiments.ipynb || $(MAKE) report
	$(BIN)/mkdocs build --strict --site-dir site

test: $(STAMP)
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

serve: $(STAMP)
	test -f docs/generated/numbers.json -a -f docs/generated/experiments.ipynb || $(MAKE) report
	$(BIN)/mkdocs serve

clean-site:
	rm -rf site

# No GPU needed: whether `python -m actbench gpu-check` will run on the lent GPU machine's
# image (triton 3.6, no Snakemake/tqdm/PyYAML), every kernel compiled for sm_80/sm_90 with
# its PTX checked, and the GPU run rehearsed on the CPU, in a throw-away build/gpu-preflight.
.PHONY: gpu-preflight
gpu-preflight:
	bash scripts/gpu_preflight.sh
