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
# The command line, built once (so a signal reaches it, not a `go run`).
E2E_BIN    := _output/bin/ambient-e2e
E2ECTL     := $(E2E_BIN)

# Every setting (LABEL_FILTER, PROCS, SUITE_TIMEOUT, GINKGO_FLAGS, REPORT_DIR,
# WORK_DIR and the harness's) is read by ambient-e2e from the environment or
# the config file (CONFIG=file or AMBIENT_E2E_CONFIG); `make env` lists them
# with their values and sources. Make passes on only what is set.
DRY_RUN ?= 0
export LABEL_FILTER PROCS SUITE_TIMEOUT GINKGO_FLAGS REPORT_DIR WORK_DIR
ifneq ($(CONFIG),)
export AMBIENT_E2E_CONFIG := $(abspath $(CONFIG))
endif

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-14s %s\n",$$1,$$2}'
	@echo; echo "Settings: CONFIG=file.yaml, DRY_RUN=1, and every variable of make env (LABEL_FILTER, PROCS, ...)."

## ---- the two set-up commands -------------------------------------------

.PHONY: e2e
e2e: $(E2E_BIN) ## Run the conformance suite and write the reports (DRY_RUN=1 lists the specs; IN_CLUSTER=1 runs it as a Job in the cluster, PUSH=registry/path for a cluster that pulls)
ifeq ($(DRY_RUN),1)
	$(E2ECTL) run --dry-run
else ifeq ($(IN_CLUSTER),1)
	$(E2ECTL) run --in-cluster $(if $(PUSH),--push '$(PUSH)')
else
	$(E2ECTL) run
endif

.PHONY: test
test: fmt-check tidy-check path-check vet lint browser unit spec-table ## Format check, go.mod tidiness, vet, linters and every unit test (no cluster)

.PHONY: $(E2E_BIN)
$(E2E_BIN): ## Build the ambient-e2e command line (go build, cached)
	@mkdir -p $(dir $(E2E_BIN))
	$(GO) build -o $(E2E_BIN) ./cmd/ambient-e2e

# apt_install installs a Debian package (with sudo when not root), quietly.
apt_install = if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	$$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null

.PHONY: browser
browser: ## Debian's Chromium for the HTML report checks (installed when missing)
	@command -v chromium >/dev/null || command -v "$${CHROME:-chromium}" >/dev/null || { \
		echo "installing Debian's chromium (the HTML report is checked in a real headless browser)"; $(call apt_install,chromium); }

.PHONY: shellcheck
shellcheck: ## Debian's shellcheck for the shell scripts (installed when missing)
	@command -v shellcheck >/dev/null || { \
		echo "installing Debian's shellcheck (the offline cluster's scripts are linted)"; $(call apt_install,shellcheck); }

## ---- pieces ----------------------------------------------------------------

.PHONY: tidy-check
tidy-check: ## go.mod and go.sum of both modules are what go mod tidy makes (no import marked indirect, nothing missing)
	@$(GO) mod tidy -diff >/dev/null 2>&1 || { $(GO) mod tidy -diff; echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@cd clusters/offline && { $(GO) mod tidy -diff >/dev/null 2>&1 || { $(GO) mod tidy -diff; echo "clusters/offline: run go mod tidy there"; exit 1; }; }

.PHONY: path-check
path-check: ## No tracked file names a path of the machine it was written on (a checkout, the shared notes, a mirror, a cache)
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
		if git grep -n -I -E '/work/(main|shared|\.mirror|\.library)|/root/(zt|\.cache|go/pkg)' -- ':!Makefile'; then \
			echo "a tracked file names a machine's path (above): cite the source (repo:path@ref) instead"; exit 1; fi; \
	else echo "path-check: not a git checkout, skipped"; fi

.PHONY: unit
unit: ## Unit tests of everything that needs no cluster (both modules)
	$(GO) test -count=1 ./...
	cd clusters/offline && $(GO) test -count=1 ./...

.PHONY: vet
vet: ## go vet, including the e2e-tagged suites and clusters/offline
	$(GO) vet ./...
	$(GO) vet -tags=e2e ./suites/...
	$(GO) vet -tags=e2e,controlplane ./suites/...
	cd clusters/offline && $(GO) vet ./...

.PHONY: fmt-check
fmt-check: ## Fail when a Go file is not gofmt-ed
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './_output/*')); \
	if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi

.PHONY: lint
lint: shellcheck ## golangci-lint (both modules), actionlint (workflows) and shellcheck (scripts)
	$(LINT) run ./...
	cd clusters/offline && $(GO) tool -modfile=../../tools/go.mod golangci-lint run --config ../../.golangci.yml ./...
	$(ACTIONLINT) -no-color .github/workflows/*.yml
	shellcheck -x -S warning clusters/offline/ensure-docker clusters/offline/egress-guard clusters/offline/node-image \
		clusters/offline/smoke-test clusters/offline/selftest clusters/offline/bench-latency clusters/offline/doctor-check \
		clusters/offline/interrupt-check clusters/offline/in-cluster-check clusters/offline/soak clusters/offline/istio-build clusters/offline/control-plane-mesh clusters/offline/ztunnel-mesh \
		clusters/offline/lib/*.sh .ci/run

.PHONY: spec-table
spec-table: $(E2E_BIN) ## Every spec has its catalogue entry and exactly one row in each verdict table (dry run, no cluster)
	@mkdir -p _output/dry
	@$(GINKGO) run --tags=e2e --dry-run --no-color --json-report=dry-run.json --output-dir=_output/dry ./suites/... >_output/dry/log 2>&1 \
		|| { cat _output/dry/log; exit 1; }
	$(E2ECTL) catalogue check _output/dry/dry-run.json
	@$(E2ECTL) catalogue | diff -u docs/catalogue.md - >/dev/null || { echo "docs/catalogue.md is not the catalogue: run make catalogue"; exit 1; }
	$(E2ECTL) verdicts --coverage-only reports/null-mesh.yaml _output/dry/dry-run.json
	$(E2ECTL) verdicts --coverage-only reports/ztunnel-mesh.yaml _output/dry/dry-run.json
	@$(GINKGO) run --tags=e2e,controlplane --dry-run --no-color --json-report=dry-run-cp.json --output-dir=_output/dry ./suites/... >_output/dry/log-cp 2>&1 \
		|| { cat _output/dry/log-cp; exit 1; }
	$(E2ECTL) catalogue check --tags controlplane _output/dry/dry-run-cp.json
	$(E2ECTL) verdicts --coverage-only reports/control-plane-mesh.yaml _output/dry/dry-run-cp.json

.PHONY: catalogue
catalogue: $(E2E_BIN) ## Write docs/catalogue.md, the conformance catalogue (suites/catalogue) as tables
	@mkdir -p docs
	$(E2ECTL) catalogue >docs/catalogue.md

.PHONY: verdict-data
RUNS_DIR = $(or $(REPORT_DIR),_output/reports)
verdict-data: $(E2E_BIN) ## After make selftest (and make ztunnel-mesh): record its runs as the false-pass guard's data that make test judges the tables against
	$(E2ECTL) verdicts --record reports/verdict/testdata/null-mesh.json reports/null-mesh.yaml $(RUNS_DIR)/selftest/report.json >/dev/null
	$(E2ECTL) verdicts --record reports/verdict/testdata/control-plane-mesh.json reports/control-plane-mesh.yaml $(RUNS_DIR)/selftest/control-plane/report.json >/dev/null
	@if [ -s $(RUNS_DIR)/ztunnel/run-1/report.json ]; then \
		$(E2ECTL) verdicts --record reports/verdict/testdata/ztunnel-mesh.json reports/ztunnel-mesh.yaml $(RUNS_DIR)/ztunnel/run-1/report.json >/dev/null; \
	else echo "no ztunnel-mesh run in $(RUNS_DIR)/ztunnel: reports/verdict/testdata/ztunnel-mesh.json kept"; fi

## ---- the offline cluster (no image pulls) --------------------------------

.PHONY: docker node-image selftest
docker: ## Start a Docker engine here (installs Debian's docker.io when missing)
	clusters/offline/ensure-docker
node-image: docker ## Build the offline kind node image for K8S_VERSION (cached; prints the tag last)
	clusters/offline/node-image
selftest: ## Run every spec against an offline kind cluster with NO mesh; compare with reports/null-mesh.yaml
	clusters/offline/selftest
.PHONY: ztunnel-mesh
ztunnel-mesh: ## Your ztunnel (ZTUNNEL_BINARY=path or ZTUNNEL_IMAGE=archive|docker:image) with Istio's control plane on the offline cluster, judged by reports/ztunnel-mesh.yaml
	clusters/offline/ztunnel-mesh
.PHONY: soak
soak: ## N back-to-back null-mesh runs on one offline cluster (N=10): every spec whose verdict changed, and the wall time per run
	N=$(or $(N),10) clusters/offline/soak
.PHONY: bench-latency
bench-latency: ## Calibrate the latency instrument on the offline cluster: injected 0/0.1/0.2/0.5/1 ms must be recovered
	clusters/offline/bench-latency

.PHONY: probe
probe: ## Build the probe binary into _output/
	CGO_ENABLED=0 $(GO) build -trimpath -o _output/probe ./fixtures/probe

.PHONY: versions env
versions: $(E2E_BIN) ## Supported Istio versions with support status (harness/versions/versions.yaml)
	@$(E2ECTL) versions
env: $(E2E_BIN) ## Every setting with its effective value and where it came from
	@$(E2ECTL) env

.PHONY: versions-matrix report-matrix
versions-matrix: $(E2E_BIN) ## The nightly's GitHub Actions matrix as JSON (INCLUDE_EOL=true, INCLUDE=1.29,dev)
	@$(E2ECTL) versions --matrix $(if $(filter true 1,$(INCLUDE_EOL)),--eol) $(if $(INCLUDE),--include '$(INCLUDE)')
report-matrix: $(E2E_BIN) ## Merge conformance reports (REPORTS="a.yaml b.yaml") into MATRIX_DIR/matrix.{md,html}
	@mkdir -p '$(or $(MATRIX_DIR),_output/matrix)'
	$(E2ECTL) report matrix $(REPORTS) --markdown '$(or $(MATRIX_DIR),_output/matrix)/matrix.md' --html '$(or $(MATRIX_DIR),_output/matrix)/matrix.html'

.PHONY: doctor inventory sweep delete-cluster probe-image
probe-image: $(E2E_BIN) ## Build the probe image; PUSH=registry/path pushes it and prints PROBE_IMAGE= for a cluster that pulls
	$(E2ECTL) probe-image $(if $(PUSH),--push '$(PUSH)')
doctor: $(E2E_BIN) ## The seed's debug flow for NAMESPACE (make doctor NAMESPACE=my-app)
	$(E2ECTL) doctor -n '$(or $(NAMESPACE),default)'
inventory: $(E2E_BIN) ## Everything of the suite's in the cluster (labelled objects, mesh-config providers)
	$(E2ECTL) inventory
sweep: $(E2E_BIN) ## Delete everything any run of the suite left behind: namespaces, objects outside them, mesh-config providers
	$(E2ECTL) sweep
delete-cluster: $(E2E_BIN) ## Delete the kind cluster KIND_CLUSTER_NAME
	$(E2ECTL) delete-cluster

.PHONY: clean
clean: ## Remove _output/
	rm -rf _output
