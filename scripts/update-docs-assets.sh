#!/usr/bin/env bash
# Refresh the vendored docs UI assets from the npm registry: update-docs-assets.sh 5.35.0 1.72.1
set -euo pipefail
swagger_version=${1:?swagger-ui-dist version}
scalar_version=${2:?@scalar/api-reference version}
assets="$(cd "$(dirname "$0")/.." && pwd)/src/contacts_api/docs_assets"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "swagger-ui-dist@$swagger_version" "@scalar/api-reference@$scalar_version" >/dev/null
mkdir swagger scalar
tar xzf swagger-ui-dist-*.tgz -C swagger
tar xzf scalar-api-reference-*.tgz -C scalar
cp swagger/package/{swagger-ui-bundle.js,swagger-ui.css,swagger-ui-standalone-preset.js,LICENSE} "$assets/swagger-ui/"
cp scalar/package/dist/browser/standalone.js "$assets/scalar/"  # MIT; the package ships no LICENSE file
echo "updated; now change the versions in $assets/README.md and run: uv run pytest tests/browser"
