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
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz) && exit 0
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz) && exit 0
  fi
  echo "Install it, then run make again:  sudo apt-get install graphviz" >&2
elif command -v brew >/dev/null 2>&1; then
  echo "Install it, then run make again:  brew install graphviz" >&2
else
  echo "Install Graphviz (https://graphviz.org/download/) so that 'dot' is on PATH, then run make again." >&2
fi
exit 1
