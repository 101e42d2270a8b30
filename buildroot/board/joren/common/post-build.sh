#!/bin/sh
# Post-build script of the Joren image: $1 is the target directory, $2 the
# board (rpi4-64 or rpi5, from BR2_ROOTFS_POST_SCRIPT_ARGS).
#
# JOREN_RAUC_KEYRING must name the update CA's certificate (PEM): every
# update bundle must be signed by a key it certifies. scripts/rauc-keys
# makes a development CA; production keys are kept off the build machine
# (docs/image.md).
set -eu
TARGET_DIR=$1
BOARD=${2:?post-build.sh needs the board name (BR2_ROOTFS_POST_SCRIPT_ARGS)}
COMMON_DIR=$(dirname "$0")

if [ -z "${JOREN_RAUC_KEYRING:-}" ] || [ ! -f "${JOREN_RAUC_KEYRING}" ]; then
	echo "post-build.sh: set JOREN_RAUC_KEYRING to the update CA certificate (scripts/rauc-keys makes a development one)" >&2
	exit 1
fi
if grep -q "PRIVATE KEY" "${JOREN_RAUC_KEYRING}"; then
	echo "post-build.sh: ${JOREN_RAUC_KEYRING} holds a private key: the image gets only the CA certificate" >&2
	exit 1
fi
install -D -m 0644 "${JOREN_RAUC_KEYRING}" "${TARGET_DIR}/etc/rauc/keyring.pem"
sed "s/@COMPATIBLE@/joren-${BOARD}/" "${COMMON_DIR}/rauc/system.conf.in" \
	>"${TARGET_DIR}/etc/rauc/system.conf"

# Mount point of the data partition (the root file system is read-only).
mkdir -p "${TARGET_DIR}/data"
