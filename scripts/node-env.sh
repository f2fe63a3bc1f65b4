#!/usr/bin/env bash
# Sourced by the scripts: puts a Node >= 22.17 first on PATH (MikroORM 7 needs it). When the
# machine's Node is older, installs the npm package node@24 once into ~/.cache/node24.
node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=17)?0:1)'
}
if ! node_ok; then
  NODE24_PREFIX="${NODE24_PREFIX:-$HOME/.cache/node24}"
  if [ ! -x "$NODE24_PREFIX/node_modules/.bin/node" ]; then
    echo "Node $(node -v 2>/dev/null || echo none) is too old; installing Node 24 into $NODE24_PREFIX" >&2
    npm install --prefix "$NODE24_PREFIX" --no-save --no-audit --no-fund node@24 >&2
  fi
  export PATH="$NODE24_PREFIX/node_modules/.bin:$PATH"
fi
