# Two commands do all the setup:  `make app` (install + start) and `make test` (install + whole suite).
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: app test bench lint

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

app: $(STAMP)
	$(VENV)/bin/python serve.py

test: $(STAMP)
	$(VENV)/bin/python -m pytest

# make bench BENCH="browser classroom --baseline main": names and options for python -m benchmarks (default: all)
BENCH ?=
bench: $(STAMP)
	$(VENV)/bin/python -m benchmarks $(BENCH)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
