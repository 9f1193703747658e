# 强基通 — two commands: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
FLASK  := $(BIN)/flask --app wsgi

.PHONY: run test install install-test migrate demo scheduler lint format clean bundle

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@ $(VENV)/.run-installed

install: $(VENV)/.run-installed
install-test: $(VENV)/.test-installed

migrate: install
	@mkdir -p instance
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) seed demo-if-empty

## make run: venv, install, migrate, demo data (empty database only), serve on 127.0.0.1:$(PORT)
## with the reminder scheduler as its own single process beside the web workers
run: demo
	@echo "强基通 http://127.0.0.1:$(PORT)  (演示账号见 README.md，密码 Demo@2026)"
	@$(FLASK) scheduler & SCHED=$$!; \
	trap 'kill $$SCHED 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --workers 2 --limit-request-line 0 --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

## make scheduler: the reminder scheduler alone (production runs it as its own service)
scheduler: migrate
	$(FLASK) scheduler

## make test: install, lint, run every test
test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup

## make bundle: dist/qiangji-<version>-py311-linux-x86_64.tar.gz, the offline install bundle
## (app, wheelhouse with hashes, install.sh, systemd units, nginx example; README 部署)
bundle: $(BIN)/python
	$(BIN)/python deploy/build_bundle.py

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts dist
