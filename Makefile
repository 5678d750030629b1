# Two commands on a fresh Debian machine (as root):
#   make demo   -- install everything, run the main job (polyrelu demo)
#   make test   -- install everything, run the full test suite
# Both are idempotent: finished steps are skipped (stamp files in .venv/).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.polyrelu-installed
SYSPKGS := libcdd-dev libgmp-dev
OUT    ?= demo-out

.PHONY: demo test quick docs bench lint sysdeps install clean

demo: install
	$(BIN)/polyrelu demo --out $(OUT)

test: install
	$(BIN)/python -m pytest -q
	@echo "make test: all tests passed"

quick: install
	$(BIN)/python -m pytest -q -m "not slow"

docs: install
	$(BIN)/sphinx-build -n -W --keep-going -b html docs docs/_build/html

bench: install
	$(BIN)/python -m benchmarks regions

lint: install
	$(BIN)/ruff check polyrelu tests benchmarks examples

install: $(STAMP)

# System packages: cddlib and GMP headers (pycddlib's exact cdd.gmp module builds
# against them), a Python with venv support, and Python.h -- pycddlib is built
# from source, so the header is checked directly (python3 may be present
# without python3-dev).
PYHEADER := import os, sys, sysconfig; \
	sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))

sysdeps:
	@missing=""; \
	for p in $(SYSPKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v $(PYTHON) >/dev/null 2>&1 || missing="$$missing python3"; \
	$(PYTHON) -c "import venv, ensurepip" >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	$(PYTHON) -c '$(PYHEADER)' >/dev/null 2>&1 || missing="$$missing python3-dev"; \
	command -v cc >/dev/null 2>&1 || missing="$$missing build-essential"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "system packages present"; fi

$(BIN)/python:
	$(MAKE) sysdeps
	$(PYTHON) -m venv $(VENV)

# torch: the CPU build lies on disk as torch==2.13.0; asking for it first keeps a
# bare "torch" requirement from pulling a multi-GB CUDA build.
$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(MAKE) sysdeps
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[torch,onnx,dev,dask]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) docs/_build $(OUT) build *.egg-info
