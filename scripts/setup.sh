#!/usr/bin/env bash
# Creates .venv (if missing) and installs collet_nb with its test extras from this checkout.
# Sourced by test.sh and lab.sh; safe to run again (pip skips what is installed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  "$PY" -m venv "$ROOT/.venv"
  "$ROOT/.venv/bin/python" -m pip install -q --upgrade pip
fi
"$ROOT/.venv/bin/python" -m pip install -q -e "$ROOT[test,mcp]" 2>&1 | grep -v "^WARNING: Location" || true
"$ROOT/.venv/bin/python" -c "import collet_nb" # fail here, clearly, if the install did not work
