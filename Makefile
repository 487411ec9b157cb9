# mqscope — `make run` opens the console (embedded demo when nothing is
# configured); `make test` runs vet and the whole suite on real brokers.
GO       ?= go
PKGS     ?= ./...
BENCHTIME ?= 2s
# Shown by --version and in the log; GOFLAGS=-buildvcs=false (set on some
# machines) would otherwise leave only "dev".
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)

.PHONY: all build run test test-nats-system test-short bench lint e2e screenshots clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/mqscope .

run:
	$(GO) run -ldflags '$(LDFLAGS)' . $(ARGS)

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

# The conformance suite against an external nats-server (MQSCOPE_TEST_NATS_URL,
# default the machine's own on :4222, e.g. Debian's 2.9).
test-nats-system:
	$(GO) test -race -count=1 -tags natssystem -run TestConformanceSystemServer ./backends/jetstream/

test-short:
	$(GO) test -count=1 -short $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./backends/...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet $(PKGS)

e2e: build
	./scripts/e2e.sh

screenshots: build
	./scripts/screenshots.sh

clean:
	rm -rf bin
