# Every target bootstraps what it needs: a pinned uv in .tools/, then the locked environment.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
RUN := $(UV) run --locked --quiet
export UV_PYTHON_DOWNLOADS := never

.PHONY: help sync test lint typecheck check-generated generate pytest contract-tests \
        spec-diff update-spec demo bench bench-inputs clean prism redis check-upstream vendor \
        check-vendored

help:
	@echo "make demo             upsert examples/ into a fake HubSpot started in-process, twice, with progress"
	@echo "make test             lint, types, drift check, contract tests and tests (what CI runs)"
	@echo "make generate         regenerate generated_client/ from openapi/"
	@echo "make check-generated  fail with a diff if generated_client/ or openapi/spec.lock is stale"
	@echo "make bench            run the benchmarks; rewrite benchmarks/results/ and the README summary"
	@echo "make spec-diff OLD=<file or URL> NEW=<file or URL> [FORMAT=json]"
	@echo "                      the change report between two specs (ours or HubSpot's), breaking ones flagged"
	@echo "make update-spec UPSTREAM=<file or URL> [ACCEPT_BREAKING=1] [UPSTREAM_COMMIT=<sha>]"
	@echo "                      import HubSpot's spec, report, update pin + lock + client + CHANGES.md, contract tests"
	@echo "make check-upstream [UPSTREAM_COLLECTION=<folder or URL>] [CHECK_UPSTREAM_JSON=<file>]"
	@echo "                      newest HubSpot document per API line vs the pin: 'unchanged' (0) or the report (10)"
	@echo "make vendor DEST=<dir>          copy generated_client/ to DEST with a stamp (VENDORED.json)"
	@echo "make check-vendored DEST=<dir>  fail with a diff if a vendored copy was edited or is stale"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

sync: $(UV)
	$(UV) sync --locked --quiet --all-extras

test: sync lint typecheck check-generated pytest

# The main job on a laptop: a fake HubSpot on 127.0.0.1, the examples upserted twice.
demo: sync
	$(RUN) postal-mail demo

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) actionlint
	$(RUN) zizmor --offline --quiet .github/workflows

typecheck: sync
	$(RUN) mypy

generate: sync
	$(RUN) python -m scripts.generate generate

check-generated: sync
	$(RUN) python -m scripts.generate check

pytest: sync prism redis
	$(RUN) pytest $(PYTEST_ARGS)

# Prism, the independent mock server the contract suite runs the client against, pinned in
# tools/prism/ and installed into .node/. Without npm it is skipped (its tests then skip and
# say how to enable them), except in CI, where a missing Prism is a failure.
NODE_DIR := .node
PRISM := $(NODE_DIR)/node_modules/.bin/prism
PRISM_PINS := tools/prism/package.json tools/prism/package-lock.json

prism:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(PRISM); \
	elif [ "$$CI" = "true" ]; then \
		echo "npm is needed in CI to install Prism for the contract tests" >&2; exit 1; \
	else \
		echo "npm not found: Prism not installed, its contract tests will skip."; \
		echo "Install Node.js >= 18.20 with npm, then run 'make prism'."; \
	fi

$(PRISM): $(PRISM_PINS)
	mkdir -p $(NODE_DIR)
	cp $(PRISM_PINS) $(NODE_DIR)/
	npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error
	touch $@

# redis-server, for the shared-budget tests and benchmark (each starts its own on a free
# loopback port). Installed with apt-get where it is missing and apt-get can run (as root);
# otherwise those tests skip and say how, except in CI, where a missing redis-server fails them.
redis:
	@if command -v redis-server >/dev/null 2>&1; then \
		:; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1; \
		(apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1 || \
		 (apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null)) || \
		{ [ "$$CI" != "true" ] || exit 1; echo "could not install redis-server: its tests will skip."; }; \
	elif [ "$$CI" = "true" ]; then \
		echo "redis-server is needed in CI for the shared-budget tests (apt-get install redis-server)" >&2; exit 1; \
	else \
		echo "redis-server not found: the shared-budget tests will skip."; \
		echo "Install it (e.g. 'sudo apt-get install redis-server'), then run 'make redis'."; \
	fi

# The benchmarks get an environment of their own, with the bench group (hubspot-api-client,
# matplotlib): `uv sync` for the other targets removes packages outside the default groups,
# which would pull them from under a running benchmark. BENCH_ARGS: e.g. --only memory, --quick.
BENCH_ENV := $(TOOLS)/bench-venv

bench: sync redis
	UV_PROJECT_ENVIRONMENT=$(BENCH_ENV) $(UV) sync --locked --quiet --all-extras --group bench
	UV_PROJECT_ENVIRONMENT=$(BENCH_ENV) $(UV) run --locked --quiet --group bench --no-sync \
		python -m benchmarks $(BENCH_ARGS)

# Parquet and DataFrames through reading + checking: records/s and peak RSS (results/inputs.md).
bench-inputs: sync
	$(RUN) python -m benchmarks.inputs_run $(BENCH_ARGS)

contract-tests: sync prism
	$(RUN) pytest contract_tests $(PYTEST_ARGS)

spec-diff: sync
	$(if $(and $(OLD),$(NEW)),,$(error usage: make spec-diff OLD=<file or URL> NEW=<file or URL> [FORMAT=json]))
	@$(RUN) python -m scripts.spec_diff "$(OLD)" "$(NEW)" --format $(or $(FORMAT),markdown)

update-spec: sync prism
	$(if $(UPSTREAM),,$(error usage: make update-spec UPSTREAM=<file or URL> [ACCEPT_BREAKING=1]))
	$(RUN) python -m scripts.update_spec "$(UPSTREAM)" \
		$(if $(filter 1,$(ACCEPT_BREAKING)),--accept-breaking) \
		$(if $(UPSTREAM_COMMIT),--commit "$(UPSTREAM_COMMIT)")

# The script exits 0 when unchanged, 10 when there is a newer document (the report is printed),
# 2 on error; make itself reports any failure as 2 (call scripts/check_upstream.py to tell).
check-upstream: sync
	@$(RUN) python -m scripts.check_upstream $(if $(UPSTREAM_COLLECTION),"$(UPSTREAM_COLLECTION)") \
		$(if $(CHECK_UPSTREAM_JSON),--json "$(CHECK_UPSTREAM_JSON)")

vendor: sync
	$(if $(DEST),,$(error usage: make vendor DEST=<dir>))
	@$(RUN) python -m scripts.vendor vendor "$(DEST)"

# Standard library only, so a consumer's CI needs nothing but Python: no sync here.
check-vendored:
	$(if $(DEST),,$(error usage: make check-vendored DEST=<dir>))
	@$(PYTHON) -m scripts.vendor check "$(abspath $(DEST))"

clean:
	rm -rf $(TOOLS) .venv .node .mypy_cache .ruff_cache .pytest_cache .hypothesis
