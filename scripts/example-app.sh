#!/usr/bin/env bash
# The library as a user gets it: packs libs/integration-bus (its prepack builds it), checks the
# tarball with publint and arethetypeswrong, installs it with the exact peer set into a temporary
# copy of examples/account-sync (a standalone app outside the npm workspace), and runs the app's
# tests twice: as an ES module app, then as a CommonJS app whose compiled code require()s the
# package. The app's worked example and its vitest test are the README's code blocks (checked
# first). Then builds the README's quick start, copied out of the README, as an ES module app and as
# a CommonJS app, and checks that its connector receives a customer. Uses DATABASE_URL's server
# when set, else an embedded PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
repo="$PWD"
work="$(mktemp -d "${TMPDIR:-/tmp}/integration-bus-example.XXXXXX")"
# mktemp makes the directory 0700; as root, embedded PostgreSQL runs initdb as the `postgres` user,
# which must be able to reach the binaries in node_modules.
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
started=$SECONDS

echo "== npm pack =="
tarball="$(cd libs/integration-bus && npm pack --silent --pack-destination "$work" | tail -n 1)"
tarball="$work/$tarball"
contents="$(tar tzf "$tarball")"
echo "$tarball: $(wc -l <<<"$contents") files"
# The JSON Schemas of the relayed bodies ship as files (R-ECO-5), read at run time by the docs routes.
# (The list is read once: `grep -q` on a pipe would end `tar` early, and pipefail would fail it.)
for schema in relay-envelope relay-cloudevent-data; do
  grep -qx "package/schemas/$schema.schema.json" <<<"$contents" ||
    { echo "The package lacks schemas/$schema.schema.json" >&2; exit 1; }
done

echo "== the package's README and CHANGELOG speak to users (no rule ids, no repository paths) =="
if tar xzf "$tarball" -O package/README.md package/CHANGELOG.md |
  grep -nE 'R-[A-Z]+-[0-9]+|\bSPEC\b|\]\((\./)?(examples|libs|test|BENCHMARKS)'; then
  echo "The packed README or CHANGELOG points at what only the repository has (above)." >&2
  exit 1
fi

echo "== publint =="
npx publint --strict "$tarball"
echo "== arethetypeswrong =="
# esm-only: the package is ES modules only; CommonJS apps load it through require(esm), which every
# Node the package supports (≥ 22.17) has. The CommonJS run below proves it.
npx attw --profile esm-only "$tarball"

echo "== the README's worked example and test are the example app's files =="
node scripts/readme-quickstart.mjs same README.md examples/account-sync

echo "== install into a copy of examples/account-sync =="
mkdir "$work/esm"
(cd examples/account-sync && tar cf - --exclude=node_modules --exclude=dist .) | (cd "$work/esm" && tar xf -)
(cd "$work/esm" && npm install --prefer-offline --no-audit --no-fund --loglevel=error "$tarball")

echo "== example app tests, ES modules =="
(cd "$work/esm" && EXPECT_MODULE_FORMAT=module npm test)

echo "== example app tests, CommonJS (require) =="
cp -a "$work/esm" "$work/cjs"
rm -rf "$work/cjs/dist"
(cd "$work/cjs" && npm pkg set type=commonjs && EXPECT_MODULE_FORMAT=commonjs npm test)
grep -q "require(\"nestjs-integration-bus\")" "$work/cjs/dist/src/app.module.js" ||
  { echo "The CommonJS build does not require() the package" >&2; exit 1; }

# The quick start's six files, copied out of the README into a new app that has the same packages
# installed (the example's node_modules), built, started, and sent a customer: as the ES module app
# `nest new` makes, then as a CommonJS app.
for format in module commonjs; do
  echo "== README quick start, as a $format app =="
  mkdir "$work/quickstart-$format"
  node scripts/readme-quickstart.mjs extract README.md "$work/quickstart-$format"
  cp examples/account-sync/tsconfig.json "$work/esm/package.json" "$work/quickstart-$format/"
  ln -s "$work/esm/node_modules" "$work/quickstart-$format/node_modules"
  (cd "$work/quickstart-$format" && npm pkg set type=$format name=quickstart &&
    npx tsc -p tsconfig.json && node "$repo/scripts/readme-quickstart.mjs" check)
done

echo "== example app and README quick start: passed in $((SECONDS - started)) s =="
cd "$repo"
