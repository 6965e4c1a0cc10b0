# backroom — `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.DEFAULT_GOAL := help
.PHONY: help run test test-cluster lint security format check clean bench-users-me bench-checkout bench-import bench-export bench-seed bench-reports bench bench-sqlite bench-webhooks bench-sse

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

run: $(VENV)/.installed ## Install, migrate, create the first admin (printed once), serve on 127.0.0.1:8000
	$(BIN)/backroom bootstrap
	$(BIN)/backroom serve --host $(HOST) --port $(PORT)

test: $(VENV)/.dev-installed ## Run the whole test suite (SQLite; plus PostgreSQL/Redis when BACKROOM_TEST_* are set)
	$(BIN)/pytest

test-cluster: $(VENV)/.dev-installed ## Scale-out and fault tests: private PostgreSQL + Redis, 2 instances, a worker, nginx (tests/cluster)
	$(BIN)/pytest -m cluster tests/cluster

lint: $(VENV)/.dev-installed ## Format check, lint, and mypy strict
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy

security: $(VENV)/.dev-installed ## bandit over src/, pip-audit over the installed packages (AUDIT_REQUIRED=1: an audit that can't be done fails)
	$(BIN)/python tools/security_check.py

format: $(VENV)/.dev-installed ## Reformat and autofix
	$(BIN)/ruff format src tests bench tools
	$(BIN)/ruff check --fix src tests bench tools

check: lint security test ## Everything CI runs: lint, types, security checks, tests

bench: $(VENV)/.installed ## The whole suite on PostgreSQL + Redis vs the bare baseline; writes docs/performance.md (ARGS=--soak 300)
	flock /tmp/backroom-bench.lock $(BIN)/python bench/suite.py $(ARGS)

bench-sqlite: $(VENV)/.installed ## The whole suite in the embedded mode (SQLite, one process)
	flock /tmp/backroom-bench.lock $(BIN)/python bench/suite.py --sqlite $(ARGS)

bench-users-me: $(VENV)/.installed ## Load-test GET /users/me (see docs/performance.md)
	$(BIN)/python bench/users_me.py

bench-checkout: $(VENV)/.installed ## Checkout orders/s on PostgreSQL + Redis, spread and hot product, ledger checked
	flock /tmp/backroom-bench.lock $(BIN)/python bench/checkout.py $(ARGS)

bench-import: $(VENV)/.installed ## Import 1,000,000 products over HTTP on PostgreSQL (add ARGS=--sqlite)
	flock /tmp/backroom-bench.lock $(BIN)/python bench/import_products.py $(ARGS)

bench-export: $(VENV)/.installed ## Export 1,000,000 products on PostgreSQL
	flock /tmp/backroom-bench.lock $(BIN)/python bench/export_products.py $(ARGS)

bench-seed: $(VENV)/.installed ## backroom seed with 1,000,000 orders on PostgreSQL (add ARGS=--sqlite)
	flock /tmp/backroom-bench.lock $(BIN)/python bench/seed_orders.py $(ARGS)

bench-webhooks: $(VENV)/.installed ## Webhook deliveries/s and commit-to-receipt latency to a local receiver (PostgreSQL + Redis)
	flock /tmp/backroom-bench.lock $(BIN)/python bench/webhooks.py $(ARGS)

bench-reports: $(VENV)/.installed ## Report latency on the database bench-seed leaves (backroom_bench_seed)
	flock /tmp/backroom-bench.lock $(BIN)/python bench/reports.py $(ARGS)

bench-sse: $(VENV)/.installed ## GET /events: 200 SSE clients on two instances, orders at 50/s, commit-to-receipt delay
	flock /tmp/backroom-bench.lock $(BIN)/python bench/sse.py $(ARGS)

clean: ## Remove the virtualenv and caches (keeps ./var)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
