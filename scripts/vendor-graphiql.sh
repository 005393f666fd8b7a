#!/usr/bin/env bash
# Fetch pinned GraphiQL browser assets from the npm registry into api/assets/graphiql/,
# so the binary serves GraphiQL with no request to a CDN (api/src/graphiql.rs embeds them).
#
# Usage: scripts/vendor-graphiql.sh
# Needs: npm and node (to ask the registry for tarball URLs and integrity, and check
# it), curl, tar, sha256sum. Re-runnable: the directory is rebuilt from scratch and
# every file's sha256 is checked after it is written.
#
# To upgrade, change a version below, run the script, then update the file names in
# `ASSETS` of api/src/graphiql.rs (they carry the version, so browsers may cache them
# forever) and run `cargo test --test e2e graphiql`.
set -euo pipefail

# graphiql 4.1.x is the last line that ships a standalone (UMD) browser build; 5.x is
# ESM-only and needs a bundler or an import map. React 18 is the last with UMD builds.
GRAPHIQL_VERSION=4.1.2
REACT_VERSION=18.3.1

# package version path-inside-tarball served-file-name
ASSETS=(
  "react $REACT_VERSION package/umd/react.production.min.js react-$REACT_VERSION.production.min.js"
  "react-dom $REACT_VERSION package/umd/react-dom.production.min.js react-dom-$REACT_VERSION.production.min.js"
  "graphiql $GRAPHIQL_VERSION package/graphiql.min.js graphiql-$GRAPHIQL_VERSION.min.js"
  "graphiql $GRAPHIQL_VERSION package/graphiql.min.css graphiql-$GRAPHIQL_VERSION.min.css"
  # Kept beside the code they cover (MIT asks for the notice), not served.
  "react $REACT_VERSION package/LICENSE react.LICENSE"
  "react-dom $REACT_VERSION package/LICENSE react-dom.LICENSE"
  "graphiql $GRAPHIQL_VERSION package/LICENSE graphiql.LICENSE"
)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/api/assets/graphiql"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out"

# Download and check one package tarball against the registry's sha512 integrity.
fetch_tarball() {
  local package=$1 version=$2 tarball="$work/$1-$2.tgz"
  [[ -f $tarball ]] && return 0
  local url integrity
  url=$(npm view "$package@$version" dist.tarball)
  integrity=$(npm view "$package@$version" dist.integrity)
  [[ $url == https://registry.npmjs.org/* ]] || { echo "unexpected tarball URL for $package@$version: $url" >&2; exit 1; }
  curl -fsSL --retry 3 -o "$tarball" "$url"
  local actual
  actual=$(node -e 'const c = require("crypto"), fs = require("fs");
    process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$tarball")
  [[ $actual == "$integrity" ]] || { echo "$package@$version: integrity $actual, registry says $integrity" >&2; exit 1; }
}

declare -A expected
entries=()
for line in "${ASSETS[@]}"; do
  read -r package version inner name <<<"$line"
  fetch_tarball "$package" "$version"
  tar -xzf "$work/$package-$version.tgz" -C "$work" "$inner"
  cp "$work/$inner" "$work/out/$name"
  sha=$(sha256sum "$work/$inner" | cut -d' ' -f1)
  expected[$name]=$sha
  entries+=("$(printf '    {"file": "%s", "package": "%s", "version": "%s", "path": "%s", "sha256": "%s"}' \
    "$name" "$package" "$version" "$inner" "$sha")")
done
{
  echo '{'
  echo '  "note": "Written by scripts/vendor-graphiql.sh; do not edit. Each file is copied unchanged from its npm tarball.",'
  echo '  "files": ['
  last=$((${#entries[@]} - 1))
  for i in "${!entries[@]}"; do
    if ((i < last)); then echo "${entries[i]},"; else echo "${entries[i]}"; fi
  done
  echo '  ]'
  echo '}'
} >"$work/out/MANIFEST.json"

rm -rf "$dest"
mkdir -p "$dest"
cp "$work/out/"* "$dest/"

# Check what landed on disk, not what was extracted.
for name in "${!expected[@]}"; do
  actual=$(sha256sum "$dest/$name" | cut -d' ' -f1)
  [[ $actual == "${expected[$name]}" ]] || { echo "$dest/$name: sha256 $actual, expected ${expected[$name]}" >&2; exit 1; }
done
echo "GraphiQL $GRAPHIQL_VERSION and React $REACT_VERSION written to ${dest#"$root"/}; sha256 verified:"
(cd "$dest" && sha256sum -- *.js *.css *.LICENSE)
