#!/usr/bin/env bash
# Make sure Debian's Chromium exists: the browser tests (tests/book/test_browser.py)
# read the built book in it, driven by Playwright. Installs it with apt-get where that
# is possible (root, or passwordless sudo); otherwise stops with the command that does.
# Playwright's own browser download is not used: the course builds and tests offline.
set -euo pipefail
CHROMIUM="${LABKIT_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
echo "==> Chromium ($CHROMIUM) is missing: the browser tests of the book need it"
if command -v apt-get >/dev/null 2>&1; then
  bash "$(dirname "$0")/apt-install.sh" chromium && exit 0
  echo "Install it, then run make test again:  sudo apt-get install chromium" >&2
else
  echo "Install Chromium and set LABKIT_CHROMIUM to its executable, then run make test again." >&2
fi
exit 1
