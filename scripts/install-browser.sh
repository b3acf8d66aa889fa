#!/usr/bin/env bash
# Install Debian's chromium for the browser test (Playwright drives it by path; nothing is downloaded by Playwright).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -n "${DOCQA_CHROMIUM:-}" ]; then exit 0; fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
  echo "install-browser: chromium is missing and this user cannot apt-get install it; install Debian's chromium package" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -qq chromium >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null; }
command -v chromium >/dev/null 2>&1 || { echo "install-browser: chromium still not on PATH after apt-get" >&2; exit 1; }
