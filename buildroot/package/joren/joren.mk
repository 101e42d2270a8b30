################################################################################
#
# joren
#
################################################################################

# The source is a commit of the git repository this br2-external tree
# lives in (or BR2_PACKAGE_JOREN_SITE): the tree and the code it builds
# come from the same commit. Buildroot clones it and vendors the Go
# modules at download time, which needs the network. (The defaults hold
# without BR2_PACKAGE_JOREN too: joren-models builds host-joren.)
JOREN_SITE = $(or $(call qstrip,$(BR2_PACKAGE_JOREN_SITE)),$(BR2_EXTERNAL_JOREN_PATH)/..)
JOREN_SITE_METHOD = git
JOREN_VERSION := $(or $(call qstrip,$(BR2_PACKAGE_JOREN_VERSION)),\
	$(shell git -C $(BR2_EXTERNAL_JOREN_PATH) rev-parse HEAD 2>/dev/null))
JOREN_LICENSE = Proprietary
# Our own commit: there is no upstream tarball whose hash could be
# recorded here.
BR_NO_CHECK_HASH_FOR += $(JOREN_SOURCE)

# The version joren reports (--version, status events, /metrics, the
# box's page). Buildroot builds from a clone without .git, so it is passed
# explicitly: git describe of the commit built, from the repository this
# tree lives in (the commit itself where git cannot describe it), or
# BR2_PACKAGE_JOREN_BUILD_VERSION when set (a release build).
JOREN_BUILD_VERSION := $(or $(call qstrip,$(BR2_PACKAGE_JOREN_BUILD_VERSION)),\
	$(shell git -C $(BR2_EXTERNAL_JOREN_PATH) describe --tags --always $(JOREN_VERSION) 2>/dev/null),\
	$(JOREN_VERSION))
JOREN_LDFLAGS = -X joren/internal/version.stamp=$(JOREN_BUILD_VERSION)

JOREN_GOMOD = joren
# The commit's time is the build time joren never believes a clock before
# (a Raspberry Pi boots without one until the network time is set).
JOREN_LDFLAGS += -X main.builtAt=$(shell git -C $(BR2_EXTERNAL_JOREN_PATH) log -1 --format=%cI $(JOREN_VERSION) 2>/dev/null)
JOREN_BUILD_TARGETS = cmd/joren
JOREN_DEPENDENCIES = host-pkgconf dlib gst1-plugins-base gstreamer1 jpeg openblas opencv4

# go-face's cgo flags carry -march=native, which a cross compiler
# rejects and CGO_CXXFLAGS cannot override: scripts/cross-cc (from the
# joren source) removes it. Buildroot's toolchain wrapper already adds
# the board's -mcpu.
JOREN_GO_ENV = \
	CC="$(@D)/scripts/cross-cc $(TARGET_CC)" \
	CXX="$(@D)/scripts/cross-cc $(TARGET_CXX)" \
	CGO_LDFLAGS="$(TARGET_LDFLAGS) -L$(@D)/br-blas"

# go-face and joren link -lblas, -lcblas and -llapack; Buildroot's
# OpenBLAS installs only libopenblas, which carries the BLAS and CBLAS
# interfaces (dlib is built without LAPACK here, so no LAPACK routine
# is called). Link names private to this build point at it.
define JOREN_BLAS_LINKS
	mkdir -p $(@D)/br-blas
	$(foreach l,blas cblas lapack,\
		ln -sf $(STAGING_DIR)/usr/lib/libopenblas.so \
			$(@D)/br-blas/lib$(l).so$(sep))
endef
JOREN_PRE_BUILD_HOOKS += JOREN_BLAS_LINKS

# The service runs as its own user, allowed to open cameras and the
# GPIO character devices (the image's udev rule gives them to "gpio").
define JOREN_USERS
	joren -1 joren -1 * - - video,gpio Joren door camera
endef

define JOREN_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/init/joren.service \
		$(TARGET_DIR)/usr/lib/systemd/system/joren.service
endef

# host-joren: joren's pure-Go tools for the build machine, from the same
# source (and vendored modules) as the image's joren, without cgo, so
# none of the target's libraries. joren-models runs joren-convert to
# ship dlib's ResNet converted for OpenCV's DNN, as `joren models fetch`
# would convert it on the box.
HOST_JOREN_GOMOD = joren
HOST_JOREN_BUILD_TARGETS = cmd/joren-convert
HOST_JOREN_GO_ENV = CGO_ENABLED=0

$(eval $(golang-package))
$(eval $(host-golang-package))
