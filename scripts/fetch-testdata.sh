#!/usr/bin/env bash
# Real photos for the project's own tests, from a registry package (not from ../shared):
# the tests/test_images of the PyPI face_recognition 1.3.0 sdist (MIT), pinned by SHA-256.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/testdata/images"
SDIST_SHA=5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec
[ -f "$out/.complete" ] && exit 0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --no-binary :all: face_recognition==1.3.0 -d "$tmp"
tarball="$tmp/face_recognition-1.3.0.tar.gz"
[ "$(sha256sum "$tarball" | cut -d' ' -f1)" = "$SDIST_SHA" ] || { echo "checksum mismatch: $tarball" >&2; exit 1; }
tar -xzf "$tarball" -C "$tmp" face_recognition-1.3.0/tests/test_images
mkdir -p "$out"
cp "$tmp"/face_recognition-1.3.0/tests/test_images/* "$out/"
touch "$out/.complete"
echo "test images ready in $out"
