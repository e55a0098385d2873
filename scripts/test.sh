#!/usr/bin/env bash
# The test command of the README: set up .venv, then lint, type-check and run every test.
# Extra arguments go to pytest (e.g. `scripts/test.sh tests/core -x`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy
# The TypeScript model and renderer: lint, strict types, unit tests over the golden fixtures.
echo "== typescript"
command -v npm >/dev/null 2>&1 || { echo "npm not found: install Node.js >= 20 with npm" >&2; exit 1; }
(cd labextension && { [ -d node_modules ] || npm ci --no-audit --no-fund; } \
  && npm run --silent lint && npm run --silent typecheck && npm test --silent)
echo "== pytest"
set +e
.venv/bin/pytest --cov=collet_nb --cov-branch --cov-report=term:skip-covered "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$rc"
