#!/bin/bash
# Installs or removes FaceGate face unlock (docs/face-unlock.md): pam_facegate.so, the pam-auth-update profile, the
# daemon's systemd unit, its configuration and user map, and the facegate binary.
#
#   pam/unlock/install.sh install   [DESTDIR=/tmp/root] [PREFIX=/usr/local] [FACEGATE_BIN=.build/release/facegate]
#   pam/unlock/install.sh uninstall [DESTDIR=…] [PURGE=1: also the daemon's gallery, key and audit log]
#
# With DESTDIR (a staging root, the tests) only files are written under it: no account is created, no service is
# started, the PAM stack is not touched. Without DESTDIR (root on the real system) install also creates the
# `facegate` system account (group video) and reloads systemd; enabling face unlock stays a separate, explicit step
# (`pam-auth-update --enable facegate`) because it changes how every login authenticates. Uninstall removes the
# profile from the PAM stack first (pam-auth-update --remove), then stops the daemon, then deletes the files.
# Configuration the administrator may have edited (unlock.toml, unlock-users) is kept unless PURGE=1.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
action=${1:-}
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
MULTIARCH=${MULTIARCH:-$( (gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu) )}
PAMDIR=${PAMDIR:-/lib/$MULTIARCH/security}
FACEGATE_BIN=${FACEGATE_BIN:-$repo/.build/release/facegate}
MODULE=${MODULE:-$repo/.build/pam/pam_facegate.so}
PURGE=${PURGE:-0}

bindir=$PREFIX/bin
unit=/etc/systemd/system/facegate-unlock.service
profile=/usr/share/pam-configs/facegate
# Files install owns (removed by uninstall); configuration is listed separately.
owned=("$PAMDIR/pam_facegate.so" "$profile" "$unit" "$bindir/facegate" "$PREFIX/share/doc/facegate/face-unlock.md")
config=(/etc/facegate/unlock.toml /etc/facegate/unlock-users)

die() { echo "install.sh: $*" >&2; exit 2; }
real_system() { [ -z "$DESTDIR" ]; }
# Tests set FACEGATE_NO_SYSTEM=1: a missing DESTDIR then fails instead of touching the machine's /etc.
if real_system && [ "${FACEGATE_NO_SYSTEM:-0}" = 1 ]; then die "FACEGATE_NO_SYSTEM=1 and no DESTDIR: refusing to touch the system"; fi

case "$action" in
install)
    [ -f "$MODULE" ] || die "$MODULE is missing: run 'make pam' first"
    [ -x "$FACEGATE_BIN" ] || die "$FACEGATE_BIN is missing: build facegate first (make build), or set FACEGATE_BIN"
    if real_system && [ "$(id -u)" != 0 ]; then die "installing into the system needs root (or set DESTDIR to stage)"; fi
    install -D -m 0644 "$MODULE" "$DESTDIR$PAMDIR/pam_facegate.so"
    install -D -m 0644 "$here/pam-config" "$DESTDIR$profile"
    install -d -m 0755 "$DESTDIR/etc/systemd/system"
    sed "s|@BINDIR@|$bindir|g" "$here/facegate-unlock.service.in" > "$DESTDIR$unit"
    chmod 0644 "$DESTDIR$unit"
    install -D -m 0755 "$FACEGATE_BIN" "$DESTDIR$bindir/facegate"
    install -D -m 0644 "$repo/docs/face-unlock.md" "$DESTDIR$PREFIX/share/doc/facegate/face-unlock.md"
    install -d -m 0755 "$DESTDIR/etc/facegate"
    # never overwrite the administrator's configuration
    for f in unlock.toml unlock-users; do
        [ -e "$DESTDIR/etc/facegate/$f" ] || install -m 0644 "$here/$f" "$DESTDIR/etc/facegate/$f"
    done
    if real_system; then
        if ! id facegate >/dev/null 2>&1; then
            useradd --system --home-dir /var/lib/facegate --no-create-home --shell /usr/sbin/nologin --groups video facegate
        fi
        systemctl daemon-reload || true
        cat <<EOF
Installed. Next, as root:
  1. enroll:  sudo -u facegate $bindir/facegate enroll --config /etc/facegate/unlock.toml --user YOU --camera 0
     and add 'YOU YOU' to /etc/facegate/unlock-users
  2. start:   systemctl enable --now facegate-unlock.service
  3. enable:  pam-auth-update --enable facegate      (face first, then the password)
Keep a root shell open while you try sudo in another terminal.
EOF
    else
        echo "staged in $DESTDIR (no account created, no service or PAM change)"
    fi
    ;;
uninstall)
    if real_system; then
        [ "$(id -u)" = 0 ] || die "uninstalling from the system needs root (or set DESTDIR)"
        # out of the PAM stack first, so no login looks for a module that is about to disappear
        if command -v pam-auth-update >/dev/null && [ -e "$profile" ]; then pam-auth-update --package --remove facegate; fi
        systemctl disable --now facegate-unlock.service 2>/dev/null || true
    fi
    for f in "${owned[@]}"; do rm -f "$DESTDIR$f"; done
    if [ "$PURGE" = 1 ]; then
        for f in "${config[@]}"; do rm -f "$DESTDIR$f"; done
        rm -rf "$DESTDIR/var/lib/facegate"
    fi
    rmdir "$DESTDIR$PREFIX/share/doc/facegate" "$DESTDIR/etc/facegate" 2>/dev/null || true
    if real_system; then systemctl daemon-reload || true; fi
    echo "face unlock removed${DESTDIR:+ from $DESTDIR}$([ "$PURGE" = 1 ] || echo ' (configuration in /etc/facegate kept; PURGE=1 removes it)')"
    ;;
*)
    die "usage: $0 install|uninstall  (DESTDIR=… stages into a directory)"
    ;;
esac
