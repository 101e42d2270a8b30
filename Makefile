# Joren: build, models, tests and benchmarks. `make help` lists the targets.

GO          ?= go
MODELS      ?= models
# Where the official MMOD detector and its SHA256SUMS are (read in place).
DETECTOR_DIR ?= ../shared/models
SHARED      ?= ../shared
BIN         := bin/joren
# Packages without cgo: they must build and test with CGO_ENABLED=0.
PURE_PKGS   := ./cluster/... ./vision ./vision/models ./vision/verification ./vision/frame ./vision/motion ./vision/quality ./vision/track ./internal/... ./device/... ./sync/... ./appliance/config ./device/pintest

export JOREN_MODELS := $(abspath $(MODELS))
export JOREN_SHARED := $(abspath $(SHARED))
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: help deps build models test test-pure test-cgo bench demo workflow clean-models

help:
	@echo "make demo    install what is needed, build, provision models, run the appliance on a synthesised door video"
	@echo "make workflow   the article's workflow on the shared photos: compare, embed, cluster, t-SNE figure"
	@echo "make test    install what is needed, provision models, run every test"
	@echo "make build   build $(BIN)"
	@echo "make models  build the model files into $(MODELS)/ offline (joren models build)"
	@echo "make bench   run the benchmarks and print a table"

deps:
	@scripts/setup-debian

build: deps
	$(GO) build -o $(BIN) ./cmd/joren

models: build
	$(BIN) --models $(MODELS) models build --detector-dir $(DETECTOR_DIR) --test-onnx
	$(BIN) --models $(MODELS) models verify

test: models test-pure test-cgo

# The pure-Go packages really build without cgo.
test-pure:
	CGO_ENABLED=0 $(GO) vet $(PURE_PKGS)
	CGO_ENABLED=0 $(GO) test -count=1 $(PURE_PKGS)

# Everything, with gocv's Mat profile on, so tests can check every Mat is closed.
test-cgo:
	$(GO) vet ./...
	$(GO) test -count=1 -tags matprofile -timeout 30m ./...

bench: models
	@scripts/bench-table

# The main job: the appliance on a synthesised door video (joren demo).
demo: models
	$(BIN) demo

# The article's workflow on the shared photos (compare, embed, cluster, plot).
workflow: models
	@scripts/workflow

clean-models:
	rm -rf $(MODELS)
