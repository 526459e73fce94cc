# Two commands on a fresh machine (Python 3.11+, make, git): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit install local bench clean build-HelpdeskLayer

$(STAMP): pyproject.toml requirements-dev.txt layers/helpdesk/requirements.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/helpdesk demo

local: $(STAMP)
	$(BIN)/helpdesk local

bench: $(STAMP)
	$(BIN)/helpdesk bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/helpdesk validate

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit

test: lint typecheck
	$(BIN)/pytest -n 2

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Called by `sam build` (BuildMethod: makefile) for the layer: the pinned runtime
# dependencies, the domain package and the validated ops config, as hash-based bytecode
# so that a cold start never recompiles.
build-HelpdeskLayer:
	$(PYTHON) -m pip install --quiet --no-compile -r layers/helpdesk/requirements.txt -t "$(ARTIFACTS_DIR)/python"
	cp -r layers/helpdesk/helpdesk "$(ARTIFACTS_DIR)/python/"
	cp infra/helpdesk.yaml "$(ARTIFACTS_DIR)/python/helpdesk/helpdesk.yaml"
	PYTHONPATH="$(ARTIFACTS_DIR)/python" $(PYTHON) -c "from helpdesk.config import load_config; load_config('$(ARTIFACTS_DIR)/python/helpdesk/helpdesk.yaml')"
	$(PYTHON) -m compileall -q --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)/python"

# Called by `sam build` for each function (BuildMethod: makefile with ContextPath: . in
# template.yaml), inside a scratch copy of the function's folder: the handler with its
# hash-based bytecode, so that a cold start never compiles app.py (/var/task is read-only,
# so Lambda would compile it again on every cold start). Bytecode is only used by the
# Python that wrote it: build with the runtime's, e.g. `sam build --use-container` or
# PYTHON=python3.12.
FUNCTION_BUILDS := build-EmailIntakeFunction build-FormIntakeFunction \
	build-AcknowledgeFunction build-RouteFunction build-SlaCheckFunction \
	build-SurveyDispatchFunction build-SurveyResponseFunction build-AgentApiFunction \
	build-ReportFunction
.PHONY: $(FUNCTION_BUILDS)

$(FUNCTION_BUILDS):
	cp app.py "$(ARTIFACTS_DIR)/"
	$(PYTHON) -m compileall -q --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)"
