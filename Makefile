# Everything a fresh machine needs: `make test` and `make demo` create the virtual environment,
# install the dependencies and put the working tree on Ansible's collection path.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTIONS := $(VENV)/collections
LINK := $(COLLECTIONS)/ansible_collections/v7labs/azure_storage
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS)
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: all venv test unit fidelity integration sanity demo emulator clean

all: test

$(STAMP): requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-test.txt
	touch $@

$(LINK):
	mkdir -p $(dir $(LINK))
	ln -sfn ../../../.. $(LINK)

venv: $(STAMP) $(LINK)

unit: venv
	$(BIN)/python -m pytest -q tests/unit

fidelity: venv
	$(BIN)/python -m pytest -q tests/fidelity

integration: venv
	$(BIN)/python -m pytest -q tests/integration

sanity: venv
	bash tests/sanity/run.sh

# sanity and lint first (they fail fast), then every pytest suite; pytest's summary closes the run
test: venv sanity
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider tests/unit tests/fidelity tests/integration

demo: venv
	$(BIN)/python -m tests.demo

emulator: venv
	$(BIN)/python -m tests.emulator --port 8443 --state tests/emulator/states/default.yml

clean:
	rm -rf $(VENV) build .pytest_cache
