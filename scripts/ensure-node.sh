#!/usr/bin/env bash
# Make sure Node.js exists: `make lite` compiles the browser edition's Python files to
# bytecode with the site's own Python (Pyodide), which it runs in Node.js (18 or newer).
# Installs Debian's nodejs where that is possible; otherwise stops with the command to run.
set -euo pipefail
if command -v node >/dev/null 2>&1; then
  exit 0
fi
echo "==> Node.js (node) is missing: the browser edition's build runs Pyodide in it"
if command -v apt-get >/dev/null 2>&1; then
  bash "$(dirname "$0")/apt-install.sh" nodejs && exit 0
  echo "Install it, then run make again:  sudo apt-get install nodejs" >&2
elif command -v brew >/dev/null 2>&1; then
  echo "Install it, then run make again:  brew install node" >&2
else
  echo "Install Node.js 18 or newer (https://nodejs.org/) so that 'node' is on PATH, then run make again." >&2
fi
exit 1
