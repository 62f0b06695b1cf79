# Two commands do all the set-up on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
TINY := models/tiny/model_index.json models/tiny-xl/model_index.json

.PHONY: run test setup lint bench db worker migrate

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

.env:
	cp .env.example .env

$(TINY) &: $(STAMP) scripts/make_tiny_model.py
	HF_HUB_OFFLINE=1 $(PY) scripts/make_tiny_model.py --force

setup: $(STAMP) .env $(TINY)

db: setup
	$(PY) -m data.init

run: db
	$(PY) scripts/download_weights.py --if-missing || echo "some weights unavailable: those models are listed as unavailable; a missing PIXY_MODEL falls back to tiny"
	$(PY) -m web

# Distributed mode: a GPU worker (set PIXY_BROKER_URL; one per GPU; see docs/deploy.md).
worker: db
	$(PY) -m service.distributed.worker

# Move image content into the other store after changing PIXY_STORAGE: make migrate TO=mysql (or TO=disk),
# ARGS="--keep-source" to leave the old copies. Safe while the service runs, and resumable.
migrate: db
	$(PY) -m data.migrate --to $(TO) $(ARGS)

test: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: db
	HF_HUB_OFFLINE=1 $(PY) -m bench $(ARGS)
