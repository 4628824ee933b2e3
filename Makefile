# CX Workbench — two commands: `make demo` and `make test`. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SYSTEM_PACKAGES := chromium fonts-noto-cjk poppler-utils
export PYTHONDONTWRITEBYTECODE := 1
# Headless charts for the demo, tests and benchmarks; `make lab` removes it (its kernels draw inline).
export MPLBACKEND := Agg

.PHONY: help setup system venv hooks demo test test-fast lab bench lock clean

help:
	@echo "make demo   set up, then build the demo study's reports (PDF, HTML, deck, workbook) into reports/demo/"
	@echo "make test   set up, then run the test suite"
	@echo "make lab    set up, then open JupyterLab on notebooks/ (LAB_ARGS=\"--ip 0.0.0.0 --no-browser\")"
	@echo "make bench  set up, then run the benchmarks (writes bench/RESULTS.md)"

setup: system venv

# Debian/Ubuntu packages for PDFs (Chromium), Chinese text (Noto CJK) and PDF checks (poppler).
system:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -q "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; \
	  else echo "Missing system packages:$$missing. Install them with:"; \
	       echo "  sudo apt-get update && sudo apt-get install -y$$missing"; \
	       echo "then run make again."; exit 1; fi; \
	  echo "Installing system packages:$$missing"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# The virtualenv, from the committed lock file; reinstalls only when the inputs change.
venv: $(VENV)/.installed hooks

$(VENV)/.installed: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed ($(PYTHON) is $$($(PYTHON) --version))"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c requirements.lock -e ".[dev,lab]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

# The committed git hooks (.githooks/pre-commit refuses notebooks saved with outputs). A
# core.hooksPath the user set elsewhere is left alone, with a hint.
hooks:
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  current="$$(git config core.hooksPath || true)"; \
	  if [ -z "$$current" ]; then git config core.hooksPath .githooks; \
	  elif [ "$$current" != .githooks ]; then \
	    echo "note: git core.hooksPath is $$current; .githooks/pre-commit (no notebook outputs in git) is not active"; fi; \
	fi

demo: setup
	$(VENV)/bin/workbench demo --formats pdf,html,pptx,xlsx

test: setup
	$(VENV)/bin/pytest -q

test-fast: venv
	$(VENV)/bin/pytest -q -m "not e2e"

# JupyterLab on notebooks/ (as root too), printing its URL with the token; its kernels keep the
# inline backend. `workbench open -f params/....yaml` opens a parametrised copy instead.
lab: setup
	env -u MPLBACKEND $(VENV)/bin/workbench open $(LAB_ARGS)

bench: setup
	$(PY) bench/run_all.py

# Refresh the lock file from the current virtualenv (after changing dependencies on purpose).
lock:
	$(PY) -m pip freeze --exclude-editable --disable-pip-version-check | grep -v '^cx-workbench' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
