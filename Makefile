# mqscope — `make run` opens the console (embedded demo when nothing is
# configured); `make test` runs vet and the whole suite on real brokers.
GO       ?= go
PKGS     ?= ./...
BENCHTIME ?= 2s

.PHONY: all build run test test-short bench lint e2e screenshots clean

all: build

build:
	$(GO) build -o bin/mqscope .

run:
	$(GO) run . $(ARGS)

test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

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
