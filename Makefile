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

.PHONY: all venv test unit fidelity integration sanity matrix docs demo emulator soak bench ee clean

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

# The unit tests and an integration slice (the role through every module) under the oldest and
# the newest ansible-core and Python claimed, each in its own .venv-matrix/<entry> (tests/matrix).
matrix: venv
	$(BIN)/python tests/matrix/run.py

# sanity and lint first (they fail fast), then every pytest suite, then the version matrix in its
# short form (its table closes the run). The execution environment image (`make ee`) is built and
# run by .ci/run after this, which keeps `make test` within its 30 minutes on a machine whose
# podman has none of the image's layers yet.
# --dist loadfile: a file's tests run on one worker, so the story a file's tests share (one
# ansible-playbook run after another) is told once while the other worker goes on with other files.
test: venv sanity
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -p no:cacheprovider tests/unit tests/fidelity tests/integration tests/packaging --ignore=tests/packaging/ee \
		tests/soak tests/bench
	$(BIN)/python tests/matrix/run.py --short

# The execution environment image of examples/execution-environment.yml, built with ansible-builder
# and podman on a Debian 12 base image made here with debootstrap (no registry is needed), then the
# configure and verify jobs of examples/awx/ run in it the way AWX runs them: ansible-runner with
# process isolation, only the Azure credential's variables, the emulator on the host's network.
# Installs podman, runc and debootstrap from Debian when missing (tests/packaging/ee/).
ee: venv
	bash tests/packaging/ee/build.sh
	V7_EE_IMAGE="$$(cat build/ee/image)" $(BIN)/python -m pytest -q -p no:cacheprovider tests/packaging/ee

# The documentation site of the modules, their doc fragments and the role (antsibull-docs, Sphinx):
# $(DOCS_DIR)/build/html/index.html. Offline: no intersphinx inventory is downloaded, so the
# labels and environment variables of Ansible's own documentation that the pages name stay plain
# text; any other Sphinx warning, and any markup or schema error antsibull-docs finds, fails the build.
DOCS_DIR ?= build/docs
docs: venv
	rm -rf $(DOCS_DIR) && mkdir -p $(DOCS_DIR) && chmod 0755 $(DOCS_DIR)
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck .
	$(BIN)/antsibull-docs sphinx-init --use-current --fail-on-error --squash-hierarchy \
		--project v7labs.azure_storage --title v7labs.azure_storage \
		--copyright 'the v7labs.azure_storage authors' --dest-dir $(DOCS_DIR) v7labs.azure_storage
	printf '%s\n' '' '# offline: no inventory is downloaded' 'intersphinx_mapping = {}' \
		"nitpick_ignore = [('std:ref', 'ansible_configuration_settings'), ('std:ref', 'common_return_values'), ('std:ref', 'action_plugins')]" \
		"nitpick_ignore += [('std:envvar', 'ANSIBLE_CACHE_PLUGIN' + s) for s in ('', '_CONNECTION', '_PREFIX', '_TIMEOUT')]" \
		>> $(DOCS_DIR)/conf.py
	$(DOCS_DIR)/build.sh

# Faults, interruptions and concurrent runs over 100 storage accounts in two tenants, with
# figures (build/soak/soak.md); `make test` runs the short form (tests/soak/test_soak_short.py).
soak: venv
	$(BIN)/python -m tests.soak --out build/soak

# The main job timed at N = 10, 50, 200 and 500 accounts, then the same job with
# azure.azcollection side by side (build/bench/bench.md); `make test` runs a smoke form
# (tests/bench/test_bench_smoke.py). BENCH_ARGS passes options, e.g. BENCH_ARGS="--accounts 10,50".
BENCH_ARGS ?=
bench: venv
	$(BIN)/python -m tests.bench --out build/bench $(BENCH_ARGS)

demo: venv
	$(BIN)/python -m tests.demo

emulator: venv
	$(BIN)/python -m tests.emulator --port 8443 --state tests/emulator/states/default.yml

clean:
	rm -rf $(VENV) .venv-matrix .venv-azcollection build .pytest_cache
