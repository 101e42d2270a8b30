# Joren: build, models, tests and benchmarks. `make help` lists the targets.

GO          ?= go
MODELS      ?= models
# Where the official MMOD detector and its SHA256SUMS are (read in place).
DETECTOR_DIR ?= ../shared/models
SHARED      ?= ../shared
BIN         := bin/joren
# The version stamped into the binaries (joren --version, the status event,
# /metrics, the box's page): git describe of the work tree. Give VERSION=...
# where there is no .git (a source tarball).
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
GO_LDFLAGS  := -X joren/internal/version.stamp=$(VERSION)
# Head office's service: pure Go, runs on any server or container.
OFFICE      := bin/joren-office
# Packages without cgo: they must build and test with CGO_ENABLED=0. The
# list is read from the import graph (internal/deptest), not kept by hand;
# deferred (=) so only the targets that use it pay for go list.
PURE_PKGS    = $(shell PATH=/usr/local/go/bin:$$PATH CGO_ENABLED=1 $(GO) run ./internal/deptest/purelist)

export JOREN_MODELS := $(abspath $(MODELS))
export JOREN_SHARED := $(abspath $(SHARED))
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: help deps build models test test-pure test-cgo test-arm64-pure test-arm64-smoke bench demo office-demo workflow clean-models

help:
	@echo "make demo    install what is needed, build, provision models, run the appliance on a synthesised door video"
	@echo "make office-demo   the demo's events arriving in head office's dashboard (joren-office, mosquitto)"
	@echo "make workflow   the article's workflow on the shared photos: compare, embed, cluster, t-SNE figure"
	@echo "make test    install what is needed, provision models, run every test"
	@echo "make build   build $(BIN) and $(OFFICE)"
	@echo "make models  build the model files into $(MODELS)/ offline (joren models build)"
	@echo "make bench   run the benchmarks and print a table"
	@echo "make cross ARCH=arm64|armhf   cross-build bin/joren-linux-ARCH (docs/image.md)"
	@echo "make test-arm64-pure   the pure-Go packages as arm64 binaries under qemu (part of make test)"
	@echo "make test-arm64-smoke  fast cgo tests (dlib, OpenCV) as arm64 binaries under qemu (part of make test)"
	@echo "make test-arm64   every test of vision/ cluster/ device/ sync/, cgo included, as arm64 binaries under qemu (hours)"
	@echo "make test-image   the image's scripts, partitions, update bundles, A/B switch and provisioning (part of make test)"
	@echo "make buildroot-check   Buildroot's offline checks of buildroot/ (BUILDROOT=source tree)"
	@echo "make jetson-deb   the arm64 .deb for NVIDIA Jetson (docs/jetson.md)"
	@echo "make image BOARD=rpi4-64|rpi5   the SD-card image and update bundle (needs internet)"

deps:
	@scripts/setup-debian

build: deps
	$(GO) build -ldflags '$(GO_LDFLAGS)' -o $(BIN) ./cmd/joren
	CGO_ENABLED=0 $(GO) build -ldflags '$(GO_LDFLAGS)' -o $(OFFICE) ./cmd/joren-office

models: build
	$(BIN) --models $(MODELS) models build --detector-dir $(DETECTOR_DIR) --test-onnx --photos $(SHARED)/faces/images
	$(BIN) --models $(MODELS) models verify

test: models test-pure test-cgo test-arm64-pure test-arm64-smoke test-image

# The pure-Go packages really build without cgo; go.mod and go.sum are
# tidy (directly imported modules not marked indirect, nothing missing);
# every Go file is gofmt-clean.
test-pure:
	$(GO) mod tidy -diff
	@unformatted="$$("$$($(GO) env GOROOT)/bin/gofmt" -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
		if [ -n "$$unformatted" ]; then echo "not gofmt-clean: $$unformatted" >&2; exit 1; fi
	CGO_ENABLED=0 $(GO) vet $(PURE_PKGS)
	CGO_ENABLED=0 $(GO) test -count=1 $(PURE_PKGS)

# The same pure-Go packages as arm64 binaries under qemu-user: what the
# Raspberry Pi runs of them (floating point, byte order, atomics) is tested on
# every run. The cgo packages under emulation take hours: make test-arm64.
test-arm64-pure:
	CGO_ENABLED=0 GOARCH=arm64 $(GO) vet $(PURE_PKGS)
	JOREN_TEST_EXEC=qemu-aarch64-static CGO_ENABLED=0 GOARCH=arm64 \
		$(GO) test -count=1 -exec qemu-aarch64-static $(PURE_PKGS)

# The cgo side on arm64, in every run: dlib and OpenCV from the target's
# sysroot, under qemu. Only the fast tests (the full set is make test-arm64,
# hours); they include the converted model's byte-for-byte agreement with
# x86-64, which failed on arm64 before. The first run installs the cross
# compilers and makes the sysroot (a Debian download of about 1.3 GB).
SMOKE_DLIB := ^(TestConversionDeterministic|TestWriteResNetChecksLayers|TestNoFace|TestModel|TestFramesErrors)$$
test-arm64-smoke: models
	scripts/setup-cross arm64
	scripts/sysroot arm64
	TESTFLAGS='-run $(SMOKE_DLIB)' scripts/test-cross arm64 ./vision/dlib
	scripts/test-cross arm64 ./vision/picture ./vision/frame

# Everything, with gocv's Mat profile on, so tests can check every Mat is closed.
test-cgo:
	$(GO) vet ./...
	$(GO) test -count=1 -tags matprofile -timeout 30m ./...

bench: models
	@scripts/bench-table

# The main job: the appliance on a synthesised door video (joren demo).
demo: models
	$(BIN) demo

# The same door video, its events collected by joren-office into a dashboard
# (docs/office.md).
office-demo: models
	@scripts/office-demo

# The article's workflow on the shared photos (compare, embed, cluster, plot).
workflow: models
	@scripts/workflow

clean-models:
	rm -rf $(MODELS)

# --- Boards: cross builds, emulated tests, the SD-card image (docs/image.md) ---
# ARCH is arm64 (Raspberry Pi 4/5, Jetson) or armhf (32-bit Raspberry Pi OS
# boards). The sysroots live in the user cache ($(HOME)/.cache/joren), not here.
ARCH  ?= arm64
BOARD ?= rpi4-64

.PHONY: test-image cross test-arm64 test-armhf buildroot-check jetson-deb image

cross:
	scripts/setup-cross $(ARCH)
	scripts/sysroot $(ARCH)
	scripts/cross-build $(ARCH)

test-arm64: models
	scripts/setup-cross arm64
	scripts/sysroot arm64
	scripts/test-cross arm64

test-armhf: models
	scripts/setup-cross armhf
	scripts/sysroot armhf
	scripts/test-cross armhf

# The image's scripts on real partitions (seconds; part of make test).
test-image: build
	scripts/test-image

# Needs a Buildroot source tree in BUILDROOT (default ~/.cache/joren/buildroot).
buildroot-check:
	scripts/setup-cross arm64 buildroot
	scripts/buildroot-check

jetson-deb:
	scripts/setup-cross arm64 deb
	scripts/sysroot arm64
	scripts/cross-build arm64
	scripts/jetson-deb

image:
	scripts/image $(BOARD)
