#!/usr/bin/env bash
# Make sure a command the build needs exists, installing its Debian package with apt-get
# where that is possible (root, or passwordless sudo); otherwise stop with the command
# that installs it.
#
#   ensure-command.sh COMMAND DEBIAN_PACKAGE BREW_PACKAGE WHY WHERE
#
# Makefile: Graphviz's `dot` (the book's diagrams), Node.js's `node` (make lite).
set -euo pipefail
command_name=$1 debian=$2 brew=$3 why=$4 where=$5
if command -v "$command_name" >/dev/null 2>&1; then
  exit 0
fi
echo "==> '$command_name' is missing: $why"
if command -v apt-get >/dev/null 2>&1; then
  bash "$(dirname "$0")/apt-install.sh" "$debian" && exit 0
  echo "Install it, then run make again:  sudo apt-get install $debian" >&2
elif command -v brew >/dev/null 2>&1; then
  echo "Install it, then run make again:  brew install $brew" >&2
else
  echo "Install it ($where) so that '$command_name' is on PATH, then run make again." >&2
fi
exit 1
