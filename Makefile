# microfactory: the commands a newcomer types. Everything installs from the package registries into .venv/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra options for the demo, e.g. make demo DEMO_ARGS="--report out/figures.json --seed 8"
DEMO_ARGS ?=

.PHONY: install demo test lint typecheck bench serve clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@# The engraving inspector reads text with Tesseract, a Debian package, not a Python one.
	@if ! command -v tesseract >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr >/dev/null; \
	  else \
	    echo "tesseract is missing: the engraving inspector needs it; run 'sudo apt-get install tesseract-ocr'" >&2; \
	  fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/microfactory demo $(DEMO_ARGS)

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python -m benchmarks

serve: install
	$(BIN)/microfactory serve

clean:
	rm -rf $(VENV) out microfactory.db* .pytest_cache .mypy_cache .ruff_cache
