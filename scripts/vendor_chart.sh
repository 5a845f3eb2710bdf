#!/usr/bin/env bash
# Re-vendor the web dashboard's chart library (uPlot, MIT) from the npm registry into
# bot/web/static/vendor/: the pinned version's minified script and stylesheet, its licence,
# and a VERSION note. Run from anywhere; needs npm. Bump UPLOT_VERSION to upgrade.
set -euo pipefail
UPLOT_VERSION="${UPLOT_VERSION:-1.6.32}"
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/bot/web/static/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "uplot@$UPLOT_VERSION" >/dev/null && tar -xzf "uplot-$UPLOT_VERSION.tgz")
mkdir -p "$dest"
cp "$tmp/package/dist/uPlot.iife.min.js" "$dest/uPlot.iife.min.js"
cp "$tmp/package/dist/uPlot.min.css" "$dest/uPlot.min.css"
cp "$tmp/package/LICENSE" "$dest/uPlot.LICENSE"
sha="$(sha256sum "$tmp/uplot-$UPLOT_VERSION.tgz" | cut -d' ' -f1)"
printf 'uPlot %s (MIT licence, see uPlot.LICENSE)\nfrom https://registry.npmjs.org/uplot/-/uplot-%s.tgz\nsha256 of the tarball: %s\nre-vendor with scripts/vendor_chart.sh\n' \
    "$UPLOT_VERSION" "$UPLOT_VERSION" "$sha" > "$dest/VERSION"
echo "vendored uPlot $UPLOT_VERSION into $dest"
