#!/bin/sh
# Makes a signed RAUC update bundle (verity format) from an images
# directory of the Joren image:
#
#   rauc-bundle.sh IMAGES COMPATIBLE CERT KEY OUT [VERSION]
#
# The bundle holds the boot partition image (boot.vfat: the post-install
# handler on the device points its command line at the slot it lands in)
# and the root file system (rootfs.ext4). KEY may be a PKCS#11 URI (a key
# in a hardware token) instead of a file. RAUC is $RAUC, or the host rauc
# Buildroot built, or rauc from the PATH.
set -eu
images=$1
compatible=$2
cert=$3
key=$4
out=$5
version=${6:-$(date -u +%Y%m%d%H%M%S)}

rauc=${RAUC:-}
if [ -z "$rauc" ]; then
	if [ -n "${HOST_DIR:-}" ] && [ -x "${HOST_DIR}/bin/rauc" ]; then
		rauc="${HOST_DIR}/bin/rauc"
	else
		rauc=rauc
	fi
fi

for f in boot.vfat rootfs.ext4; do
	if [ ! -f "$images/$f" ]; then
		echo "rauc-bundle.sh: $images/$f is missing" >&2
		exit 1
	fi
done

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/manifest.raucm" <<EOM
[update]
compatible=$compatible
version=$version
description=Joren door camera

[bundle]
format=verity

[image.bootfs]
filename=boot.vfat

[image.rootfs]
filename=rootfs.ext4
EOM
# Hard links when possible: root file systems are hundreds of MB.
for f in boot.vfat rootfs.ext4; do
	ln "$images/$f" "$dir/$f" 2>/dev/null || cp "$images/$f" "$dir/$f"
done
rm -f "$out"
"$rauc" bundle --cert="$cert" --key="$key" "$dir" "$out"
echo "rauc-bundle.sh: $out ($compatible, version $version)"
