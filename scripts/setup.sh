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
# pip quietly, minus the machine's warning about a missing local index; a failure stops here
# with pip's whole output (never hidden by the filter).
pip_install() {
  local out
  if ! out=$("$ROOT/.venv/bin/python" -m pip install -q "$@" 2>&1); then
    echo "$out" >&2
    return 1
  fi
  grep -v "^WARNING: Location" <<<"$out" || true
}
# The editable install builds the JupyterLab sidebar (labextension/) once, with npm.
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: npm not found: the JupyterLab sidebar will not be built (the cell widgets" \
    "work without it); install Node.js >= 18 with npm, then run this again" >&2
fi
pip_install -e "$ROOT[test,mcp]"
# ipykernel 6.29, beside the venv's own: the kernel tests run on both.
if [ ! -d "$ROOT/.venv/compat/ipykernel-6.29/ipykernel" ]; then
  pip_install --no-deps --target "$ROOT/.venv/compat/ipykernel-6.29" "ipykernel==6.29.5"
fi
# jupyter-collaboration turns real-time collaboration on for a whole server, so it gets an
# environment of its own, layered on .venv by a .pth file (only what .venv lacks is installed
# there): tests/browser/test_notebook_rtc.py starts the one JupyterLab that uses it.
RTC="$ROOT/.venv/rtc"
if ! "$RTC/bin/python" -c "import jupyter_collaboration" >/dev/null 2>&1; then
  "$ROOT/.venv/bin/python" -m venv "$RTC"
  purelib='import sysconfig; print(sysconfig.get_paths()["purelib"])'
  "$ROOT/.venv/bin/python" -c "$purelib" >"$("$RTC/bin/python" -c "$purelib")/collet-main-venv.pth"
  out=$("$RTC/bin/python" -m pip install -q "jupyter-collaboration>=4" 2>&1) || { echo "$out" >&2; exit 1; }
fi
"$ROOT/.venv/bin/python" -c "import collet_nb" # fail here, clearly, if the install did not work
# The browser tests drive Debian's Chromium at this path (.ci/run installs it); without it
# they are skipped, and the test run ends with a box that says so.
if [ ! -x /usr/bin/chromium ]; then
  echo "setup: /usr/bin/chromium not found: the browser tests (tests/browser) will be skipped;" \
    "get the browser with \`apt-get install -y chromium\` (as root; never \`playwright install\`)" >&2
fi
