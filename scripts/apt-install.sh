#!/usr/bin/env bash
# Install Debian packages with apt-get where that is possible (root, or passwordless
# sudo): exits 0 once they are installed, 1 when it cannot (the caller says what to run).
# Used by ensure-command.sh and ensure-chromium.sh.
set -uo pipefail
command -v apt-get >/dev/null 2>&1 || exit 1
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
else
  exit 1
fi
