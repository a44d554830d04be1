# knshop: `make run` starts everything locally on embedded defaults;
# `make test` runs the whole suite; `make bench` measures.
GO ?= go
TEST_FLAGS ?= -count=1 -timeout 20m
BENCH_FLAGS ?= -run '^$$' -benchmem -benchtime 2s

.PHONY: run test bench build vet

run:
	$(GO) build -o .build/knshop ./cmd/knshop
	exec .build/knshop dev

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...

test:
	$(GO) vet ./...
	$(GO) test $(TEST_FLAGS) ./...

# Go benchmarks of every package, then the load run: the e2e benchmarks
# start the whole local stack and drive it over HTTP.
bench:
	$(GO) test $(BENCH_FLAGS) -bench . $$($(GO) list ./... | grep -v /e2e$$)
	$(GO) test $(BENCH_FLAGS) -bench . ./e2e

# make image, make deploy, make manifests: see deploy/deploy.mk
include deploy/deploy.mk
