# Every target bootstraps what it needs: a pinned uv in .tools/, then the locked environment.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
RUN := $(UV) run --locked --quiet
export UV_PYTHON_DOWNLOADS := never

.PHONY: help sync test lint typecheck check-generated generate pytest contract-tests \
        spec-diff update-spec demo bench clean

help:
	@echo "make test             lint, types, drift check, contract tests and tests (what CI runs)"
	@echo "make generate         regenerate generated_client/ from openapi/"
	@echo "make check-generated  fail with a diff if generated_client/ or openapi/spec.lock is stale"
	@echo "make spec-diff OLD=<file or URL> NEW=<file or URL> [FORMAT=json]"
	@echo "                      the change report between two specs (ours or HubSpot's), breaking ones flagged"
	@echo "make update-spec UPSTREAM=<file or URL> [ACCEPT_BREAKING=1] [UPSTREAM_COMMIT=<sha>]"
	@echo "                      import HubSpot's spec, report, update pin + lock + client + CHANGES.md, contract tests"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

sync: $(UV)
	$(UV) sync --locked --quiet

test: sync lint typecheck check-generated pytest

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: sync
	$(RUN) mypy

generate: sync
	$(RUN) python -m scripts.generate generate

check-generated: sync
	$(RUN) python -m scripts.generate check

pytest: sync
	$(RUN) pytest $(PYTEST_ARGS)

contract-tests: sync
	$(RUN) pytest contract_tests $(PYTEST_ARGS)

spec-diff: sync
	$(if $(and $(OLD),$(NEW)),,$(error usage: make spec-diff OLD=<file or URL> NEW=<file or URL> [FORMAT=json]))
	@$(RUN) python -m scripts.spec_diff "$(OLD)" "$(NEW)" --format $(or $(FORMAT),markdown)

update-spec: sync
	$(if $(UPSTREAM),,$(error usage: make update-spec UPSTREAM=<file or URL> [ACCEPT_BREAKING=1]))
	$(RUN) python -m scripts.update_spec "$(UPSTREAM)" \
		$(if $(filter 1,$(ACCEPT_BREAKING)),--accept-breaking) \
		$(if $(UPSTREAM_COMMIT),--commit "$(UPSTREAM_COMMIT)")

clean:
	rm -rf $(TOOLS) .venv .mypy_cache .ruff_cache .pytest_cache .hypothesis
