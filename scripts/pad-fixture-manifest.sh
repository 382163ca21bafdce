#!/usr/bin/env bash
# The fixture PAD manifest of docs/passive-liveness.md ("Measured by source (fixtures)"), rebuilt from ../shared:
# 9 genuine clips (6 sources), the 2 fixture phone replays, and the 10 simulator attacks rendered with the documented
# `facegate attack` commands into WORKDIR/sim. Writes WORKDIR/clips.tsv (absolute paths, source in the 5th column).
#
#   scripts/pad-fixture-manifest.sh WORKDIR            # then:
#   facegate evaluate-pad --manifest WORKDIR/clips.tsv --by-source --max-frames 60 --json [--no-installed-models]
#
# Environment: FACEGATE (the CLI, default .build/debug/facegate), FIXTURES (default ../shared/fixtures of the repo).
# Renders are deterministic for a given simulator (seeded); existing renders are kept unless FORCE=1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:?usage: $0 WORKDIR}"
mkdir -p "$work/sim"
work="$(cd "$work" && pwd)"
fg="${FACEGATE:-$root/.build/debug/facegate}"
fx="$(cd "${FIXTURES:-$root/../shared/fixtures}" && pwd)"
[ -x "$fg" ] || { echo "no facegate CLI at $fg (swift build --product facegate, or set FACEGATE)" >&2; exit 2; }

obama="$fx/identities/ageitgey__face_recognition/examples/knn_examples/train/obama/obama.jpg"
d3="$fx/motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4"
driving="$fx/motion/yoyo-nb__Thin-Plate-Spline-Motion-Model/assets/driving.mp4"
blink="$fx/motion/repeating__Blink-Detector/video.mp4"
for f in "$obama" "$d3" "$driving" "$blink"; do [ -f "$f" ] || { echo "missing fixture $f" >&2; exit 2; }; done

# name, input, kind, seed (the commands of the doc: --duration 3, default fps)
renders=(
  "print_obama.mp4|$obama|print|1"
  "print_moving_obama.mp4|$obama|print-moving|1"
  "screen_obama.mp4|$obama|screen|1"
  "print_moving_d3.mp4|$d3|print-moving|2"
  "screen_d3.mp4|$d3|screen|2"
  "replay_d3.mp4|$d3|replay|2"
  "print_moving_driving.mp4|$driving|print-moving|2"
  "screen_driving.mp4|$driving|screen|2"
  "replay_driving.mp4|$driving|replay|2"
  "replay_blink.mp4|$blink|replay|3"
)
manifest="$work/clips.tsv"
{
  echo "# fixture PAD manifest (scripts/pad-fixture-manifest.sh): path, label, depth, gyro, source"
  for rel in liveness/Krzysiek354__Python_Face_Detection/videos/real.mp4 liveness/lestari15__CNN-face-detection/videos/real.mp4 \
             motion/KwaiVGI__LivePortrait/assets/examples/driving/d0.mp4 motion/KwaiVGI__LivePortrait/assets/examples/driving/d3.mp4 \
             motion/KwaiVGI__LivePortrait/assets/examples/driving/d9.mp4 motion/KwaiVGI__LivePortrait/assets/examples/driving/d13.mp4 \
             motion/KwaiVGI__LivePortrait/assets/examples/driving/d18.mp4 \
             motion/yoyo-nb__Thin-Plate-Spline-Motion-Model/assets/driving.mp4 motion/repeating__Blink-Detector/video.mp4; do
    printf '%s\tbona-fide\t\t\t%s\n' "$fx/$rel" "$(echo "$rel" | cut -d/ -f2)"
  done
  for rel in liveness/Manikantha-M__Face-Liveness-detection-using-Deeplearning-and-OpenCV/videos/fake.mp4 \
             liveness/lestari15__CNN-face-detection/videos/fake.mp4; do
    printf '%s\treplay\t\t\t%s\n' "$fx/$rel" "$(echo "$rel" | cut -d/ -f2)"
  done
  for r in "${renders[@]}"; do
    IFS='|' read -r name input kind seed <<<"$r"
    species="${kind%-moving}"
    printf '%s\t%s\t\t\tsimulator\n' "$work/sim/$name" "$species"
  done
} >"$manifest.tmp"

for r in "${renders[@]}"; do
  IFS='|' read -r name input kind seed <<<"$r"
  out="$work/sim/$name"
  if [ -s "$out" ] && [ "${FORCE:-0}" != 1 ]; then continue; fi
  echo "facegate attack --input $(basename "$input") --kind $kind --seed $seed --duration 3 --output sim/$name" >&2
  "$fg" attack --input "$input" --kind "$kind" --seed "$seed" --duration 3 --output "$out" >/dev/null
done
for f in $(grep -v '^#' "$manifest.tmp" | cut -f1); do [ -s "$f" ] || { echo "missing $f" >&2; exit 1; }; done
mv "$manifest.tmp" "$manifest"
echo "$manifest: $(grep -vc '^#' "$manifest") rows ($(grep -c $'\tbona-fide\t' "$manifest") genuine)" >&2
