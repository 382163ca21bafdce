#!/usr/bin/env bash
# More labelled public faces for threshold calibration (docs/identity.md, "Choosing the default"), from a registry
# package, not from ../shared: the sample images of the PyPI insightface 2.1 wheel (MIT), pinned by SHA-256 —
# a group photo of six people (t1.jpg, each face cropped to its own image: six identities) and Tom_Hanks_54745.png.
# Writes testdata/identity-eval/*.png (one face per image, file name = identity) and
# testdata/identity-eval/PAIRS-photos.tsv (every pair of labelled photos, see below).
# Usage: scripts/fetch-identity-eval.sh
#        facegate calibrate --pairs testdata/identity-eval/PAIRS-photos.tsv --distances d.tsv
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/testdata/identity-eval"
fixtures="$(cd "${FACEGATE_FIXTURES:-$root/../shared/fixtures}" 2>/dev/null && pwd || echo /nonexistent)"
WHEEL_SHA=dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399
[ -f "$out/.complete" ] && exit 0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary :all: insightface==2.1 -d "$tmp"
wheel="$tmp/insightface-2.1-py3-none-any.whl"
[ "$(sha256sum "$wheel" | cut -d' ' -f1)" = "$WHEEL_SHA" ] || { echo "checksum mismatch: $wheel" >&2; exit 1; }
(cd "$tmp" && python3 -m zipfile -e "$wheel" wheel >/dev/null)
img="$tmp/wheel/insightface/data/images"
mkdir -p "$out"
cp "$img/Tom_Hanks_54745.png" "$out/insightface_tom_hanks.png"
# t1.jpg (1280x886): one square crop per face, centred on the face HOG finds (box x,y,w,h), 3x the face width,
# so each crop shows one person. The people are not named in the package: each is its own identity.
n=0
for box in 65,284,105,105 734,365,104,105 1125,296,105,105 261,169,105,105 452,300,126,125 883,89,105,104; do
  IFS=, read -r x y w h <<<"$box"
  s=$((w * 3)); cx=$((x + w / 2)); cy=$((y + h / 2))
  x0=$((cx - s / 2)); y0=$((cy - s / 2)); [ $x0 -lt 0 ] && x0=0; [ $y0 -lt 0 ] && y0=0
  [ $((x0 + s)) -gt 1280 ] && x0=$((1280 - s)); [ $((y0 + s)) -gt 886 ] && y0=$((886 - s))
  n=$((n + 1))
  ffmpeg -loglevel error -y -i "$img/t1.jpg" -vf "crop=$s:$s:$x0:$y0" "$out/insightface_t1_person$n.png"
done
# Every pair of labelled photos: the 7 new identities and the fixture identity photos (../shared/fixtures/LABELS.tsv,
# when present; testdata/images repeats four of them byte for byte and adds only partial faces). same = 1 for the same
# person.
{
  printf 'path_a\tpath_b\tidentity_a\tidentity_b\tsame\n'
  paths=(); names=()
  for f in "$out"/insightface_*.png; do paths+=("$f"); names+=("$(basename "$f" .png)"); done
  if [ -f "$fixtures/LABELS.tsv" ]; then
    while IFS=$'\t' read -r p who; do paths+=("$fixtures/$p"); names+=("$who"); done < <(tail -n +2 "$fixtures/LABELS.tsv")
  fi
  for ((i = 0; i < ${#paths[@]}; i++)); do
    for ((j = i + 1; j < ${#paths[@]}; j++)); do
      same=0; [ "${names[i]}" = "${names[j]}" ] && same=1
      printf '%s\t%s\t%s\t%s\t%s\n' "${paths[i]}" "${paths[j]}" "${names[i]}" "${names[j]}" "$same"
    done
  done
} > "$out/PAIRS-photos.tsv"
touch "$out/.complete"
echo "identity evaluation images ready in $out ($(($(wc -l < "$out/PAIRS-photos.tsv") - 1)) labelled pairs in PAIRS-photos.tsv)"
