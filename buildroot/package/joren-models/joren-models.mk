################################################################################
#
# joren-models
#
################################################################################

# dlib.net publishes its files without versions, and YuNet is taken at a
# pinned commit: the hashes in joren-models.hash pin them all (the same
# as joren's `models fetch`; vision/models' TestBuildroot* tests keep the
# two in step).
JOREN_MODELS_VERSION = 3
JOREN_MODELS_SITE = http://dlib.net/files
JOREN_MODELS_SOURCE = dlib_face_recognition_resnet_model_v1.dat.bz2
# YuNet, the face detector `vision.detector: auto` prefers: OpenCV Zoo's
# face_detection_yunet_2023mar.onnx at the commit joren pins (Git LFS,
# which github.com/.../raw/ redirects to). Not compressed.
JOREN_MODELS_YUNET_URL = https://github.com/opencv/opencv_zoo/raw/f12e12798e8314f7c074a6656816c048dcc95b7a/models/face_detection_yunet/face_detection_yunet_2023mar.onnx
JOREN_MODELS_YUNET = $(notdir $(JOREN_MODELS_YUNET_URL))
JOREN_MODELS_EXTRA_DOWNLOADS = \
	shape_predictor_5_face_landmarks.dat.bz2 \
	mmod_human_face_detector.dat.bz2 \
	$(JOREN_MODELS_YUNET_URL)
JOREN_MODELS_BZ2 = $(filter %.bz2,$(JOREN_MODELS_SOURCE) $(JOREN_MODELS_EXTRA_DOWNLOADS))
JOREN_MODELS_LICENSE = CC0-1.0 (dlib models), Apache-2.0 (YuNet)
# Apache-2.0 wants its notice beside YuNet: libfacedetection.train's
# LICENSE, the copy joren itself installs with `models fetch` (pinned in
# joren-models.hash). The dlib files come without one (CC0).
JOREN_MODELS_YUNET_NOTICE = $(BR2_EXTERNAL_JOREN_PATH)/../vision/models/yunet.LICENSE
JOREN_MODELS_LICENSE_FILES = $(JOREN_MODELS_YUNET).LICENSE
# joren-convert (host-joren) converts dlib's ResNet for OpenCV's DNN.
JOREN_MODELS_DEPENDENCIES = host-bzip2 host-joren
JOREN_MODELS_INSTALL_DIR = $(TARGET_DIR)/usr/share/joren/models
JOREN_MODELS_RESNET_ONNX = dlib_face_recognition_resnet_model_v1.onnx
JOREN_MODELS_FILES = \
	$(basename $(JOREN_MODELS_BZ2)) \
	$(JOREN_MODELS_RESNET_ONNX) \
	$(JOREN_MODELS_YUNET) \
	$(JOREN_MODELS_YUNET).LICENSE

define JOREN_MODELS_EXTRACT_CMDS
	$(foreach f,$(JOREN_MODELS_BZ2),\
		$(HOST_DIR)/bin/bzip2 -dc $(JOREN_MODELS_DL_DIR)/$(f) \
			>$(@D)/$(basename $(f))$(sep))
	cp $(JOREN_MODELS_DL_DIR)/$(JOREN_MODELS_YUNET) $(@D)/$(JOREN_MODELS_YUNET)
	cp $(JOREN_MODELS_YUNET_NOTICE) $(@D)/$(JOREN_MODELS_YUNET).LICENSE
endef

# The MANIFEST records every file with its origin and licence, as `joren
# models fetch` does; it refuses a notice that is not the pinned one.
# Then joren-convert, joren's own conversion (models.ConvertResNet, the
# commit of the image's joren), writes dlib's ResNet for OpenCV's DNN and
# records it with the sha256 of the .dat it came from, as `joren models
# fetch` does: the box computes descriptors through OpenCV, not dlib's
# slower code. Its bytes follow from the pinned .dat; the time recorded
# is SOURCE_DATE_EPOCH when set, like the script's.
define JOREN_MODELS_BUILD_CMDS
	$(JOREN_MODELS_PKGDIR)/manifest $(@D) \
		$(JOREN_MODELS_PKGDIR)/joren-models.hash \
		$(addprefix $(JOREN_MODELS_SITE)/,$(JOREN_MODELS_BZ2)) \
		$(JOREN_MODELS_YUNET_URL) \
		>$(@D)/MANIFEST
	$(HOST_DIR)/bin/joren-convert $(@D)
endef

define JOREN_MODELS_INSTALL_TARGET_CMDS
	$(foreach f,MANIFEST $(JOREN_MODELS_FILES),\
		$(INSTALL) -D -m 0644 $(@D)/$(f) $(JOREN_MODELS_INSTALL_DIR)/$(f)$(sep))
endef

$(eval $(generic-package))
