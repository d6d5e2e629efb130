#!/usr/bin/env bash
# Make sure Graphviz's `dot` exists: the diagrams in the book are drawn with it.
# Installs it with apt-get where that is possible (root, or passwordless sudo);
# otherwise stops with the one command that installs it.
set -euo pipefail
if command -v dot >/dev/null 2>&1; then
  exit 0
fi
echo "==> Graphviz (dot) is missing: the architecture diagrams need it"
if command -v apt-get >/dev/null 2>&1; then
  bash "$(dirname "$0")/apt-install.sh" graphviz && exit 0
  echo "Install it, then run make again:  sudo apt-get install graphviz" >&2
elif command -v brew >/dev/null 2>&1; then
  echo "Install it, then run make again:  brew install graphviz" >&2
else
  echo "Install Graphviz (https://graphviz.org/download/) so that 'dot' is on PATH, then run make again." >&2
fi
exit 1
