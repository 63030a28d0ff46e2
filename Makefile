# microfactory: the commands a newcomer types. Everything installs from the package registries into .venv/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extra options for the demo, e.g. make demo DEMO_ARGS="--report out/figures.json --seed 8"
DEMO_ARGS ?=

.PHONY: install chromium demo test lint typecheck bench serve screenshots clean

install: $(STAMP) chromium

# The browser tests and `make screenshots` drive Debian's Chromium (nothing downloads a browser).
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "chromium is missing: run 'sudo apt-get install chromium' (browser tests skip without it)"; \
	fi

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

# A PNG of each main page of the web UI with the demo's data, into docs/screenshots/.
screenshots: install
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) out microfactory.db* .pytest_cache .mypy_cache .ruff_cache
