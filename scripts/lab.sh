#!/usr/bin/env bash
# The main job of the README: set up .venv, then open JupyterLab on the quickstart notebook with
# the offline demo model (no key, no network). Extra arguments go to `jupyter lab`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
export COLLET_PROVIDER="${COLLET_PROVIDER:-demo}"
# Containers and CI machines often run as root, where JupyterLab refuses to start without this.
ROOT_FLAG=()
if [ "$(id -u)" -eq 0 ]; then ROOT_FLAG=(--allow-root); fi
exec .venv/bin/jupyter lab "${ROOT_FLAG[@]}" notebooks/01_quickstart.ipynb "$@"
