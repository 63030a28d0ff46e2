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
