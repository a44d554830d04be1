# knshop: `make run` starts everything locally on embedded defaults;
# `make test` runs the whole suite; `make bench` measures.
GO ?= go
TEST_FLAGS ?= -count=1 -timeout 20m
BENCH_FLAGS ?= -run '^$$' -benchmem -benchtime 2s

.PHONY: run test bench build vet

run:
	$(GO) run ./cmd/knshop dev

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...

test:
	$(GO) vet ./...
	$(GO) test $(TEST_FLAGS) ./...

bench:
	$(GO) test $(BENCH_FLAGS) -bench . ./...

# make image, make deploy, make manifests: see deploy/deploy.mk
include deploy/deploy.mk
