#!/usr/bin/env bash
# Starts the demo host app: installs what it needs, builds, and runs it on an embedded PostgreSQL
# (or on DATABASE_URL's server when set).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npx tsc -b apps/demo/tsconfig.build.json
exec node apps/demo/dist/main.js
