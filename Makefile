# trimtab — see README.md. Every target works on a fresh machine with Go,
# apt and the Go module proxy; `make test` installs what the tests need.

GO            ?= go
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS       := -X main.version=$(VERSION)
CONTROLLER_GEN := $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0
STATICCHECK   := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Integration tests share two cores; a generous timeout covers a cold cache.
# Integration tests mostly wait on the clock, so run more of them at once than there are cores.
TEST_FLAGS    ?= -count=1 -timeout 30m -parallel 8
FUZZTIME      ?= 30s

.PHONY: all build test testenv lint fmt generate run bench bench-judge judge-accuracy bench-scaling rollback-bench autoscaling-report fuzz help

all: build

help: ## List targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## Build bin/trimtab.
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/trimtab ./cmd/trimtab

testenv: ## Build/install the real test components (kube-apiserver, etcd, Prometheus); cached.
	./hack/testenv.sh

test: testenv ## Run every unit and integration test against real components.
	$(GO) test $(TEST_FLAGS) ./...

lint: ## go vet, staticcheck and gofmt.
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fmt: ## Format the code.
	gofmt -w $$(git ls-files '*.go')

generate: ## Regenerate deepcopy code and CRDs from api/.
	$(CONTROLLER_GEN) object paths=./api/... crd:crdVersions=v1 output:crd:artifacts:config=deploy/crds

run: build ## Run the controller against $$KUBECONFIG, or a local control plane when unset.
	@if [ -z "$$KUBECONFIG" ]; then ./hack/testenv.sh; fi
	$(GO) run ./hack/devcluster -- ./bin/trimtab controller --log.format=logfmt

bench: testenv ## Run every benchmark (long, over an hour with bench-scaling; not part of make test).
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m $$($(GO) list ./... | grep -v '/internal/controller$$')
	$(GO) test ./internal/controller/ -run '^$$' -bench 'CachedScalingPolicies' -benchmem -timeout 20m
	$(MAKE) bench-scaling

bench-judge: ## Judge speed: 1,000 metrics x 1,000+1,000 samples, against a Kayenta-style reference.
	$(GO) test ./analyzer/ -run '^$$' -bench . -benchtime 3x -cpu 1

judge-accuracy: ## Regenerate docs/judge-accuracy.md (false-fail rate and power; several minutes).
	$(GO) run ./analyzer/cmd/judge-accuracy -out docs/judge-accuracy.md

bench-scaling: testenv ## Scaling over 1,000 and 10,000 ScalingPolicies (and 10,000 in a 300 MiB container, reactive and predictive) against the real API server and Prometheus: cycles in-process (heap), then the built `trimtab controller` as a process for 6 minutes of cycles each (resident memory), and the forecast models' warm start from history after a restart (~60 min).
	$(GO) test ./internal/controller/ -run '^$$' -bench 'ScalingCycle' -benchtime 3x -timeout 60m
	# The process benchmark's run is paced by the child's clock, not b.N: 1x, or Go runs it twice.
	$(GO) test ./internal/controller/ -run '^$$' -bench 'ScalingControllerProcess' -benchtime 1x -timeout 60m
	$(GO) test ./internal/controller/ -run '^$$' -bench 'ForecastWarmStart' -benchtime 1x -timeout 20m

rollback-bench: ## Time to rollback, trimtab vs Flagger's rule, by simulation (writes docs/performance.md; several minutes).
	$(GO) run ./scaler/release/cmd/rollback-bench -out docs/performance.md -trials 300 -aa-trials 300

autoscaling-report: ## Regenerate docs/autoscaling.md and its plots from the traces in ../shared/data/traces.
	$(GO) run ./scaler/cmd/autoscaling-report -traces ../shared/data/traces -out docs

fuzz: ## Fuzz every parser for a while (FUZZTIME each, default 30s).
	$(GO) test ./analyzer/ -run '^$$' -fuzz FuzzClassify -fuzztime $(FUZZTIME)
	$(GO) test ./analyzer/ -run '^$$' -fuzz FuzzExactMethodsAgree -fuzztime $(FUZZTIME)
	$(GO) test ./analyzer/ -run '^$$' -fuzz FuzzDecodeRequest -fuzztime $(FUZZTIME)
	$(GO) test ./collector/scrape/ -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./collector/prometheus/ -run '^$$' -fuzz FuzzDecodeAnswer -fuzztime $(FUZZTIME)
	$(GO) test ./collector/secretheaders/ -run '^$$' -fuzz FuzzParseFile -fuzztime $(FUZZTIME)
	$(GO) test ./collector/web/ -run '^$$' -fuzz FuzzExtract -fuzztime $(FUZZTIME)
	$(GO) test ./scaler/sim/ -run '^$$' -fuzz FuzzParseTrace -fuzztime $(FUZZTIME)
	$(GO) test ./scaler/release/ -run '^$$' -fuzz FuzzParseRequest -fuzztime $(FUZZTIME)
