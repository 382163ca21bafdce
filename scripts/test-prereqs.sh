#!/usr/bin/env bash
# Python helpers some tests start as real local servers (SMTP sink). Installed once, quietly.
set -euo pipefail
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet aiosmtpd
