#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing (needs root and apt).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is missing: install it with 'sudo apt-get install chromium' (the web UI tests drive it)." >&2
  exit 1
fi
echo "Installing Debian's chromium for the web UI tests..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
