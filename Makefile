# Two entry points, each bootstrapping the local virtual environment when it is missing:
#   make run   - the embedded-default Snakemake DAG (snakemake --cores all), checked against the published numbers
#   make test  - the test suite (what CI runs)
# The first of Python 3.11-3.13 on PATH (3.11 is the tested one); override with `make PYTHON=python3.13`.
# PYTHON and TORCH_INDEX act when the venv is created; they are recorded in it, and a later `make` given a different
# value stops, saying how to rebuild (scripts/venv_matches.sh).
PYTHON ?= $(firstword $(foreach p,python3.11 python3.12 python3.13,$(shell command -v $(p) 2>/dev/null)) python3.11)
# CPU-only machine: `make TORCH_INDEX=<PyTorch's CPU wheel index URL> run` installs the CPU torch build
# (a much smaller venv than the default CUDA build); empty = the default indexes only.
TORCH_INDEX ?=
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.uasbench-installed
BUILD_RECORD := $(VENV)/.uasbench-build
# Only what the command line or the environment gave is compared with the venv (a default is not a request).
GIVEN = $(if $(filter command line environment%,$(origin $(1))),$($(1)))

.PHONY: run test lint test-gpu venv venv-matches lock clean-venv cluster-venv test-cluster

venv: $(STAMP)

# Stops when an existing venv was built with another Python (major.minor) or TORCH_INDEX than the one given.
venv-matches:
	@bash scripts/venv_matches.sh '$(VENV)' '$(call GIVEN,PYTHON)' '$(call GIVEN,TORCH_INDEX)' \
		'$(filter command line environment%,$(origin TORCH_INDEX))'

# Extras resolve from pyproject.toml; requirements.lock constrains every package to its tested version.
$(STAMP): pyproject.toml requirements.lock | venv-matches
	@test -x $(BIN)/python || { $(PYTHON) -m venv $(VENV) && \
		printf 'python=%s\ntorch_index=%s\n' "$$($(VENV)/bin/python -c 'import platform; print(platform.python_version())')" \
		'$(TORCH_INDEX)' > $(BUILD_RECORD); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) \
		-e '.[test,workflow]'
	@touch $(STAMP)

# Rewrite requirements.lock from the venv (after upgrading a package in it on purpose), keeping its header, and the
# lock's checksum in the rule env (a changed lock makes Snakemake build a new conda env).
lock:
	@test -x $(BIN)/python || { echo "no $(VENV): run make venv first"; exit 1; }
	{ grep '^#' requirements.lock; $(BIN)/python -m pip freeze --exclude-editable; } > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock
	sed -i "s/^# requirements.lock sha256: .*/# requirements.lock sha256: $$(sha256sum requirements.lock | cut -d' ' -f1)/" \
		workflow/envs/uasbench.yaml

# The DAG, then a check that the run reproduces the published embedded numbers (docs/results/embedded/).
run: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --cores all
	$(BIN)/uasbench regress --config config/config.yaml --expected tests/regression/expected_embedded.json

test: lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

# ruff (pyproject.toml [tool.ruff]: line length 120, imports, bugbear, docstrings on public modules/classes/functions)
lint: $(STAMP)
	$(BIN)/ruff check .

# tests/gpu on a CUDA machine (they skip without one); without the venv: PYTHONPATH=. python3 -m pytest -q tests/gpu
test-gpu: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q tests/gpu

# The SLURM executor plugin (the `cluster` extra) for `snakemake --workflow-profile workflow/profiles/slurm`.
CLUSTER_STAMP := $(VENV)/.uasbench-cluster-installed
cluster-venv: $(CLUSTER_STAMP)

$(CLUSTER_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test,workflow,cluster]'
	@touch $(CLUSTER_STAMP)

# The ci DAG through a single-node SLURM started here (scripts/slurm_single_node.sh: installs slurm-wlm + munge as
# root), checked against tests/regression/expected_ci.json; skips, saying why, where SLURM cannot be installed.
test-cluster: $(CLUSTER_STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" UASBENCH_CLUSTER_TESTS=1 $(BIN)/python -m pytest -m cluster tests/cluster

clean-venv:
	rm -rf $(VENV)
