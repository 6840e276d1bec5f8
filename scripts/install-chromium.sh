#!/usr/bin/env bash
# Installs Debian's chromium package (for the browser tests in test/ui/) when
# /usr/bin/chromium is missing. Called by scripts/prepare.sh for `npm test`;
# needs root (or sudo). About a minute.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
sudo=
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then sudo=sudo; else
    echo "[chromium] /usr/bin/chromium is missing and this is not root: run 'apt-get install -y chromium' as root" >&2
    exit 1
  fi
fi
echo "[chromium] installing Debian's chromium package (browser tests)" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
