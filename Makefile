# Atelier: `make up` runs the platform at http://localhost:8000, `make test` runs every test.
# Both install what is missing (Debian packages, the virtual environment, npm packages,
# the SPA build, the tiny model) and reuse what is there.
SHELL := /bin/bash
# Node.js from PyPI when the system's is too old (infra/local/node.sh); absent otherwise.
export PATH := $(CURDIR)/var/node/bin:$(PATH)
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
ENV_FILE := var/dev.env
MODEL_DIR := var/models/tiny-sd
LORA_DIR := var/models/loras
WEB_SOURCES := $(shell find web_client/src web_client/index.html web_client/vite.config.* web_client/tsconfig*.json -type f 2>/dev/null)

# Container images and the compose stack (infra/images, infra/compose) run with podman.
.PHONY: images stack-up stack-down stack-destroy test-deploy image-locks help up down restart logs status staff system venv web model test test-unit test-integration test-e2e monitoring-check contracts-lock clean

help:
	@echo "make up                run the whole platform at http://localhost:8000 (installs what is missing)"
	@echo "make down              stop it"
	@echo "make logs | status     follow its logs | is it running"
	@echo "make staff EMAIL=...   a staff account for both admins at /admin/ (asks for its password)"
	@echo "make test              every test tier: unit, integration, end-to-end"
	@echo "make test-unit | test-integration | test-e2e | test-deploy (the images and the compose stack)"
	@echo "make images            build the container images (infra/images) with podman"
	@echo "make stack-up          the platform in containers at http://localhost:8080 (builds what is missing)"
	@echo "make stack-down        stop it (volumes kept; make stack-destroy removes them too)"
	@echo "make image-locks       rewrite infra/images/locks/ (each image's pinned dependencies) after a dependency change"
	@echo "make monitoring-check  promtool checks and rule tests, dashboards against the metric catalogue"

system:
	@infra/local/system.sh

$(VENV)/.installed: requirements/constraints.txt requirements/platform.txt $(wildcard packages/*/pyproject.toml)
	@echo "==> Python environment (.venv) with pinned dependencies"
	@test -x $(PY) || python3 -m venv $(VENV)
	@mkdir -p var
	@$(VENV)/bin/pip install -q --upgrade pip >var/pip.log 2>&1 || { tail -30 var/pip.log; exit 1; }
	@$(VENV)/bin/pip install -c requirements/constraints.txt -r requirements/platform.txt >>var/pip.log 2>&1 || { tail -30 var/pip.log; exit 1; }
	@touch $@

venv: $(VENV)/.installed

web_client/node_modules/.installed: web_client/package.json web_client/package-lock.json
	@echo "==> npm packages for the web client"
	@cd web_client && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The unit tier checks infra/k8s's KEDA objects against KEDA's schema with this npm package.
infra/k8s/validate/node_modules/.installed: infra/k8s/validate/package.json infra/k8s/validate/package-lock.json
	@echo "==> npm packages for the Kubernetes manifest checks (infra/k8s/validate)"
	@cd infra/k8s/validate && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web_client/dist/index.html: web_client/node_modules/.installed $(WEB_SOURCES)
	@echo "==> building the web client"
	@cd web_client && npm run --silent build

web: web_client/dist/index.html

$(MODEL_DIR)/.complete: | venv
	@echo "==> making the tiny development models (random weights): SD in $(MODEL_DIR), SDXL, SD3 and FLUX beside it"
	@cd services/inference && ../../$(PY) -m atelier_inference.tiny_model --out $(CURDIR)/$(MODEL_DIR)
	@cd services/inference && for family in sdxl sd3 flux; do \
	  ../../$(PY) -m atelier_inference.tiny_model --family $$family --out $(CURDIR)/var/models/tiny-$$family || exit 1; done
	@touch $@

# Two random LoRAs for the tiny SD model, which the development worker offers (ATELIER_LORA_DIR).
$(LORA_DIR)/.complete: $(MODEL_DIR)/.complete
	@echo "==> making tiny LoRA adapters for it in $(LORA_DIR)"
	@cd services/inference && for name in ink-sketch fine-detail; do \
	  ../../$(PY) -m atelier_inference.tiny_model --out $(CURDIR)/$(MODEL_DIR) --lora $(CURDIR)/$(LORA_DIR)/$$name.safetensors || exit 1; done
	@touch $@

model: $(MODEL_DIR)/.complete $(LORA_DIR)/.complete

up: system venv web model
	@infra/local/provision.sh $(ENV_FILE)
	@infra/local/migrate.sh $(ENV_FILE)
	@infra/local/platform.sh start $(ENV_FILE)
	@echo "    open http://localhost:8000 ; 'make logs' to follow, 'make down' to stop"

down:
	@infra/local/platform.sh stop $(ENV_FILE)

restart: down up

status:
	@infra/local/platform.sh status $(ENV_FILE)

logs:
	@tail -n 100 -f var/platform.log

# One identity for both admins: the account lives in auth; payments' admin asks auth (see
# services/payments/common/staff_backend.py). ATELIER_STAFF_PASSWORD skips the prompt.
staff: venv
	@test -n "$(EMAIL)" || { echo "usage: make staff EMAIL=you@example.com" >&2; exit 2; }
	@test -f "$(ENV_FILE)" || { echo "$(ENV_FILE) is missing: run 'make up' first" >&2; exit 1; }
	@set -a; . "$(abspath $(ENV_FILE))"; set +a; cd services/auth && ../../$(PY) manage.py create_staff "$(EMAIL)"

test:
	@rm -rf var/test-totals
	@$(MAKE) --no-print-directory test-unit test-integration test-e2e test-deploy
	@$(PY) infra/local/run_tests.py total

test-unit: system venv web_client/node_modules/.installed infra/k8s/validate/node_modules/.installed
	@$(PY) infra/local/run_tests.py unit

test-integration: system venv
	@$(PY) infra/local/run_tests.py integration

test-e2e: system venv web model
	@WITH_BROWSER=1 infra/local/system.sh
	@$(PY) infra/local/run_tests.py e2e

test-deploy: system venv
	@$(PY) infra/local/run_tests.py deploy

images:
	@infra/images/build.sh

stack-up:
	@infra/compose/stack.sh up

stack-down:
	@infra/compose/stack.sh down

stack-destroy:
	@infra/compose/stack.sh destroy

# Also part of the unit tier (run_tests.py runs infra/monitoring's tests); this is the quick
# way to check an edit of a rule, a dashboard or the catalogue. Needs promtool (make system).
monitoring-check: system venv
	@cd infra/monitoring && ../../$(PY) -m pytest -q -p no:cacheprovider

contracts-lock: venv
	@$(PY) -m atelier_contracts.lock --write

clean: down
	rm -rf var/storage var/mail web_client/dist

image-locks: venv
	@$(PY) infra/images/deps.py --write
