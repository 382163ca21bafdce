#!/usr/bin/env bash
# Python helpers some tests start or call (SMTP sink; ONNX Runtime for the exported-model equivalence test and the
# docs' deployment example). Installed once, quietly.
set -euo pipefail
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet aiosmtpd
python3 -c 'import onnxruntime, numpy' 2>/dev/null || python3 -m pip install --quiet onnxruntime==1.32.0 numpy  # 1.32.0: the version measured in docs/training.md
