#!/bin/bash
# Post-image script of the Joren image: $1 is the images directory, $2 the
# board (rpi4-64 or rpi5). Makes the data partition, the boot partitions of
# slots A and B, the SD card image, and, when JOREN_RAUC_KEY and
# JOREN_RAUC_CERT are set, the signed update bundle.
set -eu
BINARIES_DIR=$1
BOARD=${2:?post-image.sh needs the board name (BR2_ROOTFS_POST_SCRIPT_ARGS)}
COMMON_DIR=$(cd "$(dirname "$0")" && pwd)
BOARD_DIR=$(dirname "${COMMON_DIR}")/${BOARD}
GENIMAGE_CFG="${BINARIES_DIR}/genimage.cfg"
GENIMAGE_TMP="${BUILD_DIR}/genimage.tmp"

# Both slots boot the same files; only the command line differs.
cmdline=$(tr -d '\n' <"${BOARD_DIR}/cmdline.txt")
echo "root=/dev/mmcblk0p5 rauc.slot=A ${cmdline}" >"${BINARIES_DIR}/cmdline-a.txt"
echo "root=/dev/mmcblk0p6 rauc.slot=B ${cmdline}" >"${BINARIES_DIR}/cmdline-b.txt"
cp "${COMMON_DIR}/autoboot.txt" "${BINARIES_DIR}/autoboot.txt"

# The config partition's joren/ folder, the one place an installer edits from
# a PC (joren-provision reads it at boot): what goes there, and an example
# configuration. The box adds store.key at its first start.
rm -rf "${BINARIES_DIR}/joren"
mkdir -p "${BINARIES_DIR}/joren"
cp "${COMMON_DIR}/config-README.txt" "${BINARIES_DIR}/joren/README.txt"
for src in "${BUILD_DIR}"/joren-*/init/joren.yaml; do
	if [ -f "${src}" ]; then
		cp "${src}" "${BINARIES_DIR}/joren/joren.yaml.example"
	fi
done

FILES=()
for i in "${BINARIES_DIR}"/*.dtb "${BINARIES_DIR}"/rpi-firmware/*; do
	case "${i##*/}" in
	cmdline.txt) continue ;;
	esac
	FILES+=("${i#"${BINARIES_DIR}"/}")
done
KERNEL=$(sed -n 's/^kernel=//p' "${BINARIES_DIR}/rpi-firmware/config.txt")
FILES+=("${KERNEL}")
BOOT_FILES=$(printf '\\t\\t\\t"%s",\\n' "${FILES[@]}")

# Both root slots have the size of the root file system Buildroot made.
ROOT_SIZE=$(sed -n 's/^BR2_TARGET_ROOTFS_EXT2_SIZE="\(.*\)"$/\1/p' "${BR2_CONFIG}")
sed -e "s|#BOOT_FILES#|${BOOT_FILES}|" -e "s|#ROOT_SIZE#|${ROOT_SIZE}|" \
	"${COMMON_DIR}/genimage.cfg.in" >"${GENIMAGE_CFG}"

# The data partition: the default configuration (from the joren source,
# init/joren.yaml, when it has one) and the Wi-Fi template. The directories
# and their owners are made at boot (tmpfiles.d/joren-data.conf).
DATA_TMP=$(mktemp -d)
ROOTPATH_TMP=$(mktemp -d)
trap 'rm -rf "${DATA_TMP}" "${ROOTPATH_TMP}"' EXIT
mkdir -p "${DATA_TMP}/config"
for src in "${BUILD_DIR}"/joren-*/init/joren.yaml; do
	if [ -f "${src}" ]; then
		install -m 0644 "${src}" "${DATA_TMP}/config/joren.yaml"
	fi
done
if [ ! -f "${DATA_TMP}/config/joren.yaml" ]; then
	echo "post-image.sh: warning: the joren source has no init/joren.yaml; /data/config/joren.yaml must be written by the installer" >&2
fi
install -m 0600 "${COMMON_DIR}/wpa_supplicant-wlan0.conf" "${DATA_TMP}/config/wpa_supplicant-wlan0.conf"
rm -f "${BINARIES_DIR}/data.ext4"
"${HOST_DIR}/sbin/mkfs.ext4" -q -L data -d "${DATA_TMP}" -E root_owner=0:0 \
	"${BINARIES_DIR}/data.ext4" "${JOREN_DATA_SIZE:-1G}"

rm -rf "${GENIMAGE_TMP}"
genimage \
	--rootpath "${ROOTPATH_TMP}" \
	--tmppath "${GENIMAGE_TMP}" \
	--inputpath "${BINARIES_DIR}" \
	--outputpath "${BINARIES_DIR}" \
	--config "${GENIMAGE_CFG}"

if [ -n "${JOREN_RAUC_KEY:-}" ] && [ -n "${JOREN_RAUC_CERT:-}" ]; then
	"${COMMON_DIR}/rauc-bundle.sh" "${BINARIES_DIR}" "joren-${BOARD}" \
		"${JOREN_RAUC_CERT}" "${JOREN_RAUC_KEY}" \
		"${BINARIES_DIR}/joren-${BOARD}.raucb"
else
	echo "post-image.sh: JOREN_RAUC_KEY and JOREN_RAUC_CERT not set: no update bundle (scripts/rauc-bundle makes one later)" >&2
fi
