# Two entry points: `make demo` and `make test`. Both create .venv with the
# interpreter named by PYTHON (python3 by default) and install the package into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: demo examples test lint typecheck pytest docs bench clean smoke-minimal

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[plot]"
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e ".[test,dev,docs,plot,dask]"
	touch $@ $(VENV)/.demo-installed

# The whole pipeline on the bundled sample data: parquet results and a report with
# figures in demo_output/ (open demo_output/report.md).
demo: $(VENV)/.demo-installed
	$(BIN)/polars-factors demo --output demo_output

# The example scripts: the four reference workflows on the bundled data, then the
# deep dives on the full data in ../shared/data.
examples: $(VENV)/.demo-installed
	$(BIN)/python examples/factor_regression_demo.py
	$(BIN)/python examples/factor_exposure_analyzer.py
	$(BIN)/python examples/fundamental_factor_models.py
	$(BIN)/python examples/risk_model.py
	$(BIN)/python examples/standardize_sp500.py
	$(BIN)/python examples/cross_section_sp500.py
	$(BIN)/python examples/factor_exposures.py
	$(BIN)/python examples/ff3_betas.py
	$(BIN)/python examples/fama_french_sp500.py
	$(BIN)/python examples/risk_model_sp500.py
	$(BIN)/python examples/barra_style_model.py

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

pytest: $(VENV)/.test-installed
	$(BIN)/pytest tests polars_factors

docs: $(VENV)/.test-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

test: lint typecheck pytest docs

# The package without its optional extras, on the newest Polars, in a scratch venv.
MINIMAL := .venv-minimal
smoke-minimal:
	rm -rf $(MINIMAL)
	$(PYTHON) -m venv $(MINIMAL)
	$(MINIMAL)/bin/python -m pip --disable-pip-version-check --quiet install --upgrade . polars
	$(MINIMAL)/bin/python scripts/smoke_minimal.py
	rm -rf $(MINIMAL) build

bench: $(VENV)/.test-installed
	$(PIP) install -e ".[bench]"
	$(BIN)/python benchmarks/standardize.py
	$(BIN)/python benchmarks/cross_section.py
	$(BIN)/python benchmarks/rolling_betas.py
	$(BIN)/python benchmarks/robust_betas.py
	$(BIN)/python benchmarks/portfolios.py
	$(BIN)/python benchmarks/risk.py
	$(BIN)/python benchmarks/pipeline.py

clean:
	rm -rf $(VENV) $(MINIMAL) site build demo_output *.egg-info .pytest_cache .mypy_cache .ruff_cache
