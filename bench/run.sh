#!/usr/bin/env bash
# `npm run bench`: installs what is missing, builds the library and the bench, runs the scenarios.
# Arguments go to bench/dist/main.js (see `npm run bench -- --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -d bench/node_modules ] || npm ci --prefix bench --no-audit --no-fund
npx tsc -b libs/integration-bus/tsconfig.build.json
npx tsc -p bench/tsconfig.json
exec node bench/dist/main.js "$@"
