#!/usr/bin/env bash
# Install the pinned Node dependencies of the face-api reference runner (tests/reference/).
# Idempotent: does nothing when node_modules already matches package-lock.json.
# Needs node + npm (Debian: apt-get install nodejs npm) and access to the npm registry on first run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "reference/setup.sh: error: install nodejs and npm (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
STAMP=node_modules/.agegender-lock.sha256
want="$(sha256sum package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [[ -f "${STAMP}" && "$(cat "${STAMP}")" == "${want}" \
      && -f node_modules/@vladmandic/face-api/dist/face-api.node-wasm.js \
      && -f node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm ]]; then
  echo "reference/setup.sh: node_modules up to date"
  exit 0
fi
# --ignore-scripts: nothing here needs an install script (only core-js has one, a banner).
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "${want}" >"${STAMP}"
echo "reference/setup.sh: installed $(node -p 'Object.entries(require("./package.json").dependencies).map(([k,v])=>k+"@"+v).join(", ")') into $(pwd)/node_modules"
