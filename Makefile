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

# Go benchmarks of every package, then the load runs: the e2e benchmarks
# start the whole local stack and drive it over HTTP; a product sells
# 20,000 units and its document must not grow; scripts/bench-load.sh runs
# `knshop load` at 2, 10, 50 and 100 orders/s and writes the table into
# docs/benchmarks.md; last, the size of the image's binary. Among the Go
# benchmarks: BenchmarkColdStart (e2e) and BenchmarkTimelineForOrder
# (lib/timeline, 100,000 orders; KNSHOP_TIMELINE_ORDERS changes it).
bench:
	$(GO) test $(BENCH_FLAGS) -bench . $$($(GO) list ./... | grep -v /e2e$$)
	$(GO) test $(BENCH_FLAGS) -bench . ./e2e
	KNSHOP_SOLD_UNITS=20000 $(GO) test -count=1 -run TestProductDocumentStaysSmall -v ./lib/catalog
	bash scripts/bench-load.sh
	@mkdir -p .build && CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o .build/fn-size ./cmd/fn && \
		echo "cmd/fn, static and stripped (the image's binary): $$(stat -c %s .build/fn-size) bytes"

# make image, make deploy, make manifests: see deploy/deploy.mk
include deploy/deploy.mk
