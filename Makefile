# The README's two commands: `make lab` (main job) and `make test` (whole suite), both from a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
LAB_PORT ?= 8888

.PHONY: lab test env test-env js js-test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch first: the CPU wheel on disk; a bare `pip install torch` would pull GBs of CUDA packages.
	$(PIP) install torch==2.13.0

$(VENV)/.lab: $(PY) pyproject.toml js/package.json
	$(PIP) install -e ".[lab]"
	touch $@

$(VENV)/.test: $(VENV)/.lab
	$(PIP) install -e ".[test]"
	touch $@

js/node_modules/.package-lock.json: js/package.json
	cd js && npm install --no-audit --no-fund

env: $(VENV)/.lab

test-env: $(VENV)/.test js/node_modules/.package-lock.json

# Rebuild the bundle every time: esbuild takes well under a second and an editable install never rebuilds it.
js: js/node_modules/.package-lock.json
	cd js && npm run build

js-test: js
	cd js && npm test

lab: env js
	# Root (a container, CI) needs --allow-root; jupyter refuses to start otherwise.
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --port=$(LAB_PORT) $(if $(filter 0,$(shell id -u)),--allow-root)

test: test-env js-test lint
	$(PY) -m pytest tests $(PYTEST_ARGS)

lint: test-env
	$(VENV)/bin/ruff check attr_widgets attr_widgets_server tests
	$(VENV)/bin/mypy

bench: test-env js
	for f in tests/benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) js/node_modules attr_widgets/static/*.js test-artifacts
