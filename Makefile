# The README's two commands: `make lab` (main job) and `make test` (whole suite), both from a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# torch, before anything that depends on it (tools/make_venv.sh): reused where $(PYTHON) already has one;
# else the CPU-only build on Linux without an NVIDIA GPU, PyPI's default (CUDA) build with one.
TORCH_SPEC  ?= torch==2.13.0
TORCH_INDEX ?= auto
TORCH_REUSE ?= auto
# make lab LAB_PORT=8890 LAB_ARGS="--ip=0.0.0.0 --no-browser"
LAB_PORT ?= 8888
LAB_ARGS ?=
# JupyterLab refuses to start as root (containers, cloud notebooks) without --allow-root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test env test-env js js-test lint bench clean

$(PY):
	PYTHON="$(PYTHON)" VENV="$(VENV)" TORCH_SPEC="$(TORCH_SPEC)" TORCH_INDEX="$(TORCH_INDEX)" \
		TORCH_REUSE="$(TORCH_REUSE)" sh tools/make_venv.sh

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
	$(if $(ALLOW_ROOT),@echo "running as root: starting JupyterLab with --allow-root")
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --port=$(LAB_PORT) $(ALLOW_ROOT) $(LAB_ARGS)

test: test-env js-test lint
	$(PY) -m pytest tests $(PYTEST_ARGS)

lint: test-env
	$(VENV)/bin/ruff check attr_widgets attr_widgets_server tests
	$(VENV)/bin/mypy

bench: test-env js
	for f in tests/benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) js/node_modules attr_widgets/static/*.js test-artifacts
