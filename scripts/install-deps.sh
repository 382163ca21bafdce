#!/usr/bin/env bash
# Installs the Debian packages FaceGate needs, only those missing. Root or sudo.
set -euo pipefail
pkgs=(
  libopencv-dev libdlib-dev libdlib-data libopenblas-dev liblapack-dev pkg-config   # vision
  ffmpeg                                                                          # video I/O, test media
  libjpeg62-turbo-dev                                                             # direct JPEG decode of streamed frames
  libcurl4-openssl-dev                                                            # SMTP alerts
  espeak-ng sox                                                                   # spoken confirmation
  postgresql-15                                                                   # scale-out gallery, tests
  chromium                                                                        # browser tests
  python3-pip                                                                     # test helpers (SMTP sink)
  libpam0g-dev pamtester libpam-wrapper                                           # face unlock PAM module + tests
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
