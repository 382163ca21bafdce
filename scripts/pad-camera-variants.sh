#!/usr/bin/env bash
# The camera-variant still set of docs/passive-liveness.md ("Unseen cameras and resolutions"), rebuilt from ../shared:
# 27 base stills (13 genuine of 8 sources, 4 fixture attacks, 10 simulator stills), each in 16 camera variants
# (scripts/pad_camera_variants.py) -> WORKDIR/variants.tsv (432 rows, the base's source kept).
#
#   scripts/pad-camera-variants.sh WORKDIR             # then:
#   facegate evaluate-pad --manifest WORKDIR/variants.tsv --by-source --json [--no-installed-models]
#
# Environment: FACEGATE (default .build/debug/facegate), FIXTURES (default ../shared/fixtures), PYTHON (a python3 with
# opencv-python-headless < 5, pillow, numpy; default python3).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:?usage: $0 WORKDIR}"
mkdir -p "$work/base" "$work/sim"
work="$(cd "$work" && pwd)"
fg="${FACEGATE:-$root/.build/debug/facegate}"
fx="$(cd "${FIXTURES:-$root/../shared/fixtures}" && pwd)"
py="${PYTHON:-python3}"
[ -x "$fg" ] || { echo "no facegate CLI at $fg (set FACEGATE)" >&2; exit 2; }

kw="$fx/motion/KwaiVGI__LivePortrait/assets/examples/driving"
id="$fx/identities/ageitgey__face_recognition/examples"
sf="$fx/liveness/minivision-ai__Silent-Face-Anti-Spoofing/images/sample"
frame() { # video, output png: the frame at 1 s
  [ -s "$2" ] || ffmpeg -v error -y -ss 1 -i "$1" -frames:v 1 "$2"
}
frame "$kw/d0.mp4" "$work/base/kwai_d0.png"; frame "$kw/d3.mp4" "$work/base/kwai_d3.png"
frame "$kw/d9.mp4" "$work/base/kwai_d9.png"; frame "$kw/d18.mp4" "$work/base/kwai_d18.png"
frame "$fx/motion/yoyo-nb__Thin-Plate-Spline-Motion-Model/assets/driving.mp4" "$work/base/driving.png"
frame "$fx/motion/repeating__Blink-Detector/video.mp4" "$work/base/blink.png"
frame "$fx/liveness/Krzysiek354__Python_Face_Detection/videos/real.mp4" "$work/base/krzysiek.png"
frame "$fx/liveness/lestari15__CNN-face-detection/videos/real.mp4" "$work/base/lestari.png"
frame "$fx/liveness/lestari15__CNN-face-detection/videos/fake.mp4" "$work/base/lestari_fake.png"
frame "$fx/liveness/Manikantha-M__Face-Liveness-detection-using-Deeplearning-and-OpenCV/videos/fake.mp4" "$work/base/manikantha_fake.png"

# Simulator stills: name|input|kind|seed, rendered 2 s, the frame at 1 s.
sims=(
  "sim_print_obama1080|$id/obama-1080p.jpg|print|1" "sim_print_alex|$id/alex-lacamoire.png|print|2"
  "sim_print_d3|$work/base/kwai_d3.png|print|3" "sim_print_krzysiek|$work/base/krzysiek.png|print|4"
  "sim_screen_lestari|$work/base/lestari.png|screen|1" "sim_screen_blink|$work/base/blink.png|screen|2"
  "sim_screen_d3|$work/base/kwai_d3.png|screen|3" "sim_screen_obama1080|$id/obama-1080p.jpg|screen|4"
  "sim_replay_d3|$kw/d3.mp4|replay|5" "sim_replay_blink|$fx/motion/repeating__Blink-Detector/video.mp4|replay|5"
)
for s in "${sims[@]}"; do
  IFS='|' read -r name input kind seed <<<"$s"
  [ -s "$work/sim/$name.mp4" ] || "$fg" attack --input "$input" --kind "$kind" --seed "$seed" --duration 2 --output "$work/sim/$name.mp4" >/dev/null
  frame "$work/sim/$name.mp4" "$work/base/$name.png"
done

b="$work/base"
{
  for n in kwai_d0 kwai_d3 kwai_d9 kwai_d18; do printf '%s\t%s\tbona-fide\tKwaiVGI__LivePortrait\n' "$n" "$b/$n.png"; done
  printf 'driving\t%s\tbona-fide\tyoyo-nb__Thin-Plate-Spline-Motion-Model\n' "$b/driving.png"
  printf 'blink\t%s\tbona-fide\trepeating__Blink-Detector\n' "$b/blink.png"
  printf 'krzysiek\t%s\tbona-fide\tKrzysiek354__Python_Face_Detection\n' "$b/krzysiek.png"
  printf 'lestari\t%s\tbona-fide\tlestari15__CNN-face-detection\n' "$b/lestari.png"
  printf 'id_obama1080\t%s\tbona-fide\tageitgey__face_recognition\n' "$id/obama-1080p.jpg"
  printf 'id_alex\t%s\tbona-fide\tageitgey__face_recognition\n' "$id/alex-lacamoire.png"
  printf 'id_biden\t%s\tbona-fide\tageitgey__face_recognition\n' "$id/knn_examples/train/biden/biden.jpg"
  printf 'id_lin\t%s\tbona-fide\tageitgey__face_recognition\n' "$id/lin-manuel-miranda.png"
  printf 'silent_T1\t%s\tbona-fide\tminivision-ai__Silent-Face-Anti-Spoofing\n' "$sf/image_T1.jpg"
  printf 'silent_F1\t%s\tprint\tminivision-ai__Silent-Face-Anti-Spoofing\n' "$sf/image_F1.jpg"
  printf 'silent_F2\t%s\tscreen\tminivision-ai__Silent-Face-Anti-Spoofing\n' "$sf/image_F2.jpg"
  printf 'lestari_fake\t%s\treplay\tlestari15__CNN-face-detection\n' "$b/lestari_fake.png"
  printf 'manikantha_fake\t%s\treplay\tManikantha-M__Face-Liveness-detection-using-Deeplearning-and-OpenCV\n' "$b/manikantha_fake.png"
  for s in "${sims[@]}"; do
    IFS='|' read -r name input kind seed <<<"$s"
    printf '%s\t%s\t%s\tsimulator\n' "$name" "$b/$name.png" "$kind"
  done
} >"$work/bases.tsv"
"$py" "$root/scripts/pad_camera_variants.py" "$work/bases.tsv" "$work/var" >"$work/variants.tsv"
echo "$work/variants.tsv: $(grep -vc '^#' "$work/variants.tsv") stills" >&2
