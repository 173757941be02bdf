# trimtab — see README.md. Every target works on a fresh machine with Go,
# apt and the Go module proxy; `make test` installs what the tests need.

GO            ?= go
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS       := -X main.version=$(VERSION)
CONTROLLER_GEN := $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0
STATICCHECK   := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Integration tests share two cores; a generous timeout covers a cold cache.
TEST_FLAGS    ?= -count=1 -timeout 30m

.PHONY: all build test testenv lint fmt generate run bench help

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

bench: ## Run the benchmarks (long; not part of make test).
	$(GO) test -run '^$$' -bench . -benchmem ./...
