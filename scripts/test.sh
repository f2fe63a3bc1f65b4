#!/usr/bin/env bash
# The whole test suite: type check, lint, format check, then vitest against real PostgreSQL
# (DATABASE_URL's server when set, else an embedded one started by the test setup).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
rm -rf node_modules/.vite node_modules/.vitest-cache
npx tsc -p tsconfig.json
# The admin page's browser modules: DOM types, a project of their own.
npx tsc -p libs/integration-bus/tsconfig.client.json --noEmit
npx oxlint --deny-warnings libs apps test bench
# The library's architecture: no import cycle, imports flowing down its layers (.dependency-cruiser.cjs).
npx depcruise --config .dependency-cruiser.cjs libs/integration-bus/src
npx prettier --check .
npx vitest run "$@"
