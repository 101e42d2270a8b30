################################################################################
#
# joren-models
#
################################################################################

# dlib.net publishes the files without versions; the hashes in
# joren-models.hash pin them (the same as joren's `models fetch`).
JOREN_MODELS_VERSION = 1
JOREN_MODELS_SITE = http://dlib.net/files
JOREN_MODELS_SOURCE = dlib_face_recognition_resnet_model_v1.dat.bz2
JOREN_MODELS_EXTRA_DOWNLOADS = \
	shape_predictor_5_face_landmarks.dat.bz2 \
	mmod_human_face_detector.dat.bz2
JOREN_MODELS_LICENSE = CC0-1.0
JOREN_MODELS_DEPENDENCIES = host-bzip2
JOREN_MODELS_INSTALL_DIR = $(TARGET_DIR)/usr/share/joren/models

define JOREN_MODELS_EXTRACT_CMDS
	$(foreach f,$(JOREN_MODELS_SOURCE) $(JOREN_MODELS_EXTRA_DOWNLOADS),\
		$(HOST_DIR)/bin/bzip2 -dc $(JOREN_MODELS_DL_DIR)/$(f) \
			>$(@D)/$(basename $(f))$(sep))
endef

define JOREN_MODELS_BUILD_CMDS
	$(JOREN_MODELS_PKGDIR)/manifest $(@D) $(JOREN_MODELS_SITE) \
		$(JOREN_MODELS_PKGDIR)/joren-models.hash \
		$(basename $(JOREN_MODELS_SOURCE) $(JOREN_MODELS_EXTRA_DOWNLOADS)) \
		>$(@D)/MANIFEST
endef

define JOREN_MODELS_INSTALL_TARGET_CMDS
	$(foreach f,MANIFEST $(basename $(JOREN_MODELS_SOURCE) $(JOREN_MODELS_EXTRA_DOWNLOADS)),\
		$(INSTALL) -D -m 0644 $(@D)/$(f) $(JOREN_MODELS_INSTALL_DIR)/$(f)$(sep))
endef

$(eval $(generic-package))
