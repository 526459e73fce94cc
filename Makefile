# Two commands on a fresh machine (Python 3.11+, make, git): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit install local bench clean build-HelpdeskLayer publish-helpcentre

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

# The help centre on the stack that was deployed with PublishHelpCentre=true (docs/DEPLOY.md):
# build it from the articles, upload it (pages no longer built are removed), drop
# CloudFront's cached copies and print its address. Needs the AWS CLI and credentials.
STACK ?= helpdesk
HELPCENTRE_OUT ?= build/helpcentre
publish-helpcentre: $(STAMP)
	$(BIN)/helpdesk kb build --out "$(HELPCENTRE_OUT)"
	@output() { aws cloudformation describe-stacks --stack-name "$(STACK)" \
	    --query "Stacks[0].Outputs[?OutputKey=='$$1'].OutputValue" --output text; }; \
	bucket=$$(output HelpCentreBucketName) && distribution=$$(output HelpCentreDistributionId) \
	  && url=$$(output HelpCentreUrl) || exit 1; \
	if [ -z "$$bucket" ] || [ "$$bucket" = None ]; then \
	  echo "stack $(STACK) has no help centre: deploy it with PublishHelpCentre=true" >&2; exit 1; fi; \
	aws s3 sync "$(HELPCENTRE_OUT)" "s3://$$bucket" --delete --cache-control "max-age=300" && \
	aws cloudfront create-invalidation --distribution-id "$$distribution" --paths "/*" >/dev/null && \
	echo "help centre published at $$url/ (knowledge.help_centre_url: $$url)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/helpdesk validate

# mypy once per folder that has a conftest.py (pyproject's [tool.mypy] says why): the code,
# tests/ and tests/unit, then tests/integration and tests/browser as pytest imports them.
typecheck: $(STAMP)
	$(BIN)/mypy
	MYPYPATH=tests/integration $(BIN)/mypy tests/integration
	MYPYPATH=tests/browser $(BIN)/mypy tests/browser

unit: $(STAMP)
	$(BIN)/pytest tests/unit

# worksteal: each worker starts with half of the tests in file order (a module's shared
# stack is built once per worker) and an idle worker takes tests from the busy one, so a few
# slow files at the end do not leave a core idle. The linters and mypy (one core each, ~6 s
# and ~12 s) run side by side first, their output kept whole per target.
test: $(STAMP)
	$(MAKE) --no-print-directory -j2 --output-sync=target lint typecheck
	$(BIN)/pytest -n 2 --dist worksteal

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The Lambda builds, called by `sam build` (BuildMethod: makefile; template.yaml's Metadata
# points ContextPath at this folder). SAM runs `make --makefile <this file> build-<LogicalId>`
# with ARTIFACTS_DIR set, in a scratch copy of the resource's ContentUri/CodeUri folder
# (aws-lambda-builders' custom_make workflow, which leaves out only .aws-sam and .git), so
# paths here are taken from this file's own folder, never from the working directory.
# infra/lambda_build.py does the work with the standard library and pip only: wheels for
# the runtime's platform and Python at the locked versions, the package's sources without
# caches, bytecode only from the runtime's own interpreter (see its docstring).
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
BUILD_PYTHON ?= $(if $(wildcard $(ROOT)/$(BIN)/python),$(ROOT)/$(BIN)/python,$(PYTHON))

# The layer: the pinned runtime dependencies, the domain package and the validated ops
# config (the build refuses a broken file), into $(ARTIFACTS_DIR)/python.
build-HelpdeskLayer:
	$(BUILD_PYTHON) "$(ROOT)/infra/lambda_build.py" layer "$(ARTIFACTS_DIR)"

# Each function (CodeUri: functions/<name>/, ContextPath: .): the handler, with the
# runtime's hash-based bytecode when this host has the runtime's Python, so that a cold
# start does not compile app.py (/var/task is read-only, so Lambda cannot cache it).
FUNCTION_BUILDS := build-EmailIntakeFunction build-FormIntakeFunction \
	build-AcknowledgeFunction build-RouteFunction build-SlaCheckFunction \
	build-SurveyDispatchFunction build-SurveyResponseFunction build-AgentApiFunction \
	build-ReportFunction build-PublishFunction build-MessageIntakeFunction \
	build-CustomerPageFunction build-SelfServiceFunction
.PHONY: $(FUNCTION_BUILDS)

$(FUNCTION_BUILDS):
	$(BUILD_PYTHON) "$(ROOT)/infra/lambda_build.py" function . "$(ARTIFACTS_DIR)"
