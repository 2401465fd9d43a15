#!/usr/bin/env bash
# The dashboard in a real headless Chromium (Debian chromium + chromium-driver), driven by
# selenium from PyPI in a throw-away virtual environment, against a real `veil api` and a real
# SMTP listener (aiosmtpd) that catches the activation mail.
# Usage: Tests/e2e/browser.sh [veil-binary] [screenshot-folder]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VEIL="${1:-$ROOT/.build/debug/veil}"
SHOTS="${2:-${VEIL_SCREENSHOTS:-$(mktemp -d /tmp/veil-screenshots.XXXXXX)}}"
VENV="$(mktemp -d /tmp/veil-browser-venv.XXXXXX)"
trap 'rm -rf "$VENV"' EXIT

python3 -m venv "$VENV"
"$VENV/bin/pip" install -q selenium aiosmtpd >/dev/null 2>&1 || { echo "FAIL: could not install selenium and aiosmtpd from PyPI" >&2; exit 1; }
"$VENV/bin/python" "$ROOT/Tests/e2e/browser.py" "$VEIL" "$SHOTS"
