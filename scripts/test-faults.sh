#!/usr/bin/env bash
# The process-level fault tests (test/faults): worker, producer and PostgreSQL processes that the
# tests start, kill, pause and restart themselves. Apart from `npm test`; under 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
rm -rf node_modules/.vite node_modules/.vitest-cache
npx vitest run --config vitest.faults.config.ts "$@"
