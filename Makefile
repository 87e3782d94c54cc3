# ambient-e2e: Istio ambient conformance suite.
# Two set-up commands on a fresh machine: `make e2e` and `make test`.
# Every tool comes from go.mod (`go tool`) or tools/go.mod; nothing global.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO         ?= go
GINKGO     := $(GO) tool ginkgo
LINT       := $(GO) tool -modfile=tools/go.mod golangci-lint
ACTIONLINT := $(GO) tool -modfile=tools/actionlint/go.mod actionlint
E2ECTL     := $(GO) run ./cmd/ambient-e2e

# Suite knobs (see README "Variables"; `make env` lists the harness ones).
LABEL_FILTER  ?=
PROCS         ?= 1
SUITE_TIMEOUT ?= 90m
DRY_RUN       ?= 0
GINKGO_FLAGS  ?=
REPORT_DIR    ?= $(CURDIR)/_output/reports
WORK_DIR      ?= $(CURDIR)/_output/work
export REPORT_DIR WORK_DIR

GINKGO_RUN = $(GINKGO) run --tags=e2e -v --procs=$(PROCS) --timeout=$(SUITE_TIMEOUT) \
	--label-filter='$(LABEL_FILTER)' --output-dir='$(REPORT_DIR)' \
	--junit-report=junit.xml --json-report=report.json $(GINKGO_FLAGS)

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-14s %s\n",$$1,$$2}'
	@echo; echo "Variables: LABEL_FILTER PROCS SUITE_TIMEOUT DRY_RUN GINKGO_FLAGS REPORT_DIR WORK_DIR, and the harness's (make env)."

## ---- the two set-up commands -------------------------------------------

.PHONY: e2e
e2e: ## Run the conformance suite (DRY_RUN=1 lists the specs and touches nothing)
ifeq ($(DRY_RUN),1)
	$(GINKGO) run --tags=e2e --dry-run -v --label-filter='$(LABEL_FILTER)' $(GINKGO_FLAGS) ./suites/...
else
	@mkdir -p '$(REPORT_DIR)' '$(WORK_DIR)'
	$(E2ECTL) preflight
	$(GINKGO_RUN) ./suites/...
endif

.PHONY: test
test: fmt-check vet lint unit spec-table ## Format check, vet, linters and every unit test (no cluster)

## ---- pieces ----------------------------------------------------------------

.PHONY: unit
unit: ## Unit tests of everything that needs no cluster (both modules)
	$(GO) test -count=1 ./...
	cd clusters/offline && $(GO) test -count=1 ./...

.PHONY: vet
vet: ## go vet, including the e2e-tagged suites and clusters/offline
	$(GO) vet ./...
	$(GO) vet -tags=e2e ./suites/...
	cd clusters/offline && $(GO) vet ./...

.PHONY: fmt-check
fmt-check: ## Fail when a Go file is not gofmt-ed
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './_output/*')); \
	if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi

.PHONY: lint
lint: ## golangci-lint (both modules) and actionlint (workflows)
	$(LINT) run ./...
	cd clusters/offline && $(GO) tool -modfile=../../tools/go.mod golangci-lint run --config ../../.golangci.yml ./...
	$(ACTIONLINT) -no-color .github/workflows/*.yml
	@if command -v shellcheck >/dev/null; then \
		echo shellcheck -x -S warning clusters/offline/...; \
		shellcheck -x -S warning clusters/offline/ensure-docker clusters/offline/egress-guard clusters/offline/node-image \
			clusters/offline/smoke-test clusters/offline/selftest .ci/run; \
	else echo "shellcheck not installed: shell scripts not linted (apt-get install shellcheck)"; fi

.PHONY: spec-table
spec-table: ## Every spec has exactly one row in the null-mesh verdict table (dry run, no cluster)
	@mkdir -p _output/dry
	@$(GINKGO) run --tags=e2e --dry-run --no-color --json-report=dry-run.json --output-dir=_output/dry ./suites/... >_output/dry/log 2>&1 \
		|| { cat _output/dry/log; exit 1; }
	COVERAGE_ONLY=1 $(E2ECTL) verdicts reports/null-mesh.yaml _output/dry/dry-run.json

## ---- the offline cluster (no image pulls) --------------------------------

.PHONY: docker node-image selftest
docker: ## Start a Docker engine here (installs Debian's docker.io when missing)
	clusters/offline/ensure-docker
node-image: docker ## Build the offline kind node image for K8S_VERSION (cached; prints the tag last)
	clusters/offline/node-image
selftest: ## Run every spec against an offline kind cluster with NO mesh; compare with reports/null-mesh.yaml
	clusters/offline/selftest

.PHONY: probe
probe: ## Build the probe binary into _output/
	CGO_ENABLED=0 $(GO) build -trimpath -o _output/probe ./fixtures/probe

.PHONY: versions env
versions: ## Supported Istio versions (harness/versions/versions.yaml)
	@$(E2ECTL) versions
env: ## Every harness variable with its default
	@$(E2ECTL) env

.PHONY: sweep delete-cluster
sweep: ## Delete every namespace any run of the suite left behind
	$(E2ECTL) sweep
delete-cluster: ## Delete the kind cluster KIND_CLUSTER_NAME
	$(E2ECTL) delete-cluster

.PHONY: clean
clean: ## Remove _output/
	rm -rf _output
