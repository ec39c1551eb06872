# finance-bot — developer and operator commands. `make help` lists them.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
COMPOSE ?= docker compose
BACKUPS := /var/lib/finance-bot/backups

.PHONY: help install run sandbox test lint format migrate check bench lock validate-deploy \
	deploy backup restore logs ps

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# Every dependency comes from the hashed lock (requirements/dev.txt); finance-bot itself is
# installed editable on top, with no further resolution (`make lock` refreshes the locks).
$(BIN)/finance-bot: pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

install: $(BIN)/finance-bot  ## create .venv and install finance-bot with its tools

run: install  ## run the bot (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/finance-bot run

sandbox: install  ## chat with the bot in the terminal, offline, no token needed
	$(BIN)/finance-bot sandbox

test: install  ## run the whole test suite (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/pytest -n 2 --hypothesis-profile=thorough $(PYTEST_ARGS)

lint: install  ## ruff, formatting, mypy --strict and the layer contracts
	$(BIN)/ruff check src tests bench deploy
	$(BIN)/ruff format --check src tests bench deploy
	$(BIN)/mypy
	$(BIN)/mypy bench
	$(BIN)/lint-imports

format: install  ## format the code
	$(BIN)/ruff format src tests bench deploy
	$(BIN)/ruff check --fix src tests bench deploy

migrate: install  ## bring the database schema up to date
	$(BIN)/finance-bot migrate

check: install  ## re-verify every ledger invariant
	$(BIN)/finance-bot check

bench: install  ## print the ledger and chat benchmark figures
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/chat.py

LOCK := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--all-build-deps --no-emit-index-url --no-emit-find-links

lock: install  ## re-resolve the hashed locks from pyproject.toml's pins
	$(LOCK) --extra embedded -o requirements/runtime.txt pyproject.toml
	$(LOCK) --extra embedded --extra dev -o requirements/dev.txt pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links \
		-o deploy/fava/requirements.txt deploy/fava/requirements.in

validate-deploy: install  ## compose schema, hadolint, shellcheck, promtool (no Docker needed)
	scripts/validate-deploy.sh

# --- on the server (docs/runbook.md) ---

deploy:  ## pull, build, start the stack, wait until it is healthy
	@test -f .env || { echo "no .env: cp .env.example .env and fill it in (docs/runbook.md)"; exit 1; }
	$(COMPOSE) pull --ignore-buildable
	$(COMPOSE) build --pull
	$(COMPOSE) up -d --wait postgres
	# The superuser's one job: the roles, and the schema handed to the owner role (ADR-0009).
	$(COMPOSE) exec -T postgres /docker-entrypoint-initdb.d/05-finance-bot-roles.sh
	$(COMPOSE) exec -T postgres /docker-entrypoint-initdb.d/10-grafana-reader.sh
	$(COMPOSE) up -d --remove-orphans
	$(COMPOSE) kill -s SIGHUP prometheus
	deploy/wait-healthy.sh 300

backup:  ## take a backup now (backups volume, and S3 when configured)
	$(COMPOSE) exec -T backup finance-bot backup

# The restore runs in the migrate service: it logs in as the owner role, never as the
# superuser, so SQL planted in a file cannot run programs or read the server's files.
restore:  ## replace the database with FILE=<name in the backups volume | s3://bucket/key> (ALLOW_UNENCRYPTED=1 for a plain file)
	@test -n "$(FILE)" || { echo "usage: make restore FILE=<backup>; backups:"; $(COMPOSE) run --rm --no-deps --entrypoint ls backup -1 $(BACKUPS); exit 2; }
	$(COMPOSE) stop bot backup
	$(COMPOSE) run --rm --no-deps --entrypoint finance-bot backup backup
	$(COMPOSE) exec -T postgres sh -c 'dropdb --force -U "$$POSTGRES_USER" "$$POSTGRES_DB" && createdb -U "$$POSTGRES_USER" "$$POSTGRES_DB"'
	$(COMPOSE) exec -T postgres /docker-entrypoint-initdb.d/05-finance-bot-roles.sh
	$(COMPOSE) run --rm --no-deps migrate restore $(if $(ALLOW_UNENCRYPTED),--allow-unencrypted) "$(if $(filter s3://% /%,$(FILE)),$(FILE),$(BACKUPS)/$(FILE))"
	$(COMPOSE) up -d bot backup
	deploy/wait-healthy.sh 300

logs:  ## follow the logs (SERVICE=bot for one service)
	$(COMPOSE) logs -f --tail=200 $(SERVICE)

ps:  ## the services and their health
	$(COMPOSE) ps --all
