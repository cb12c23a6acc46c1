#!/usr/bin/env bash
# Fetch the pretrained face-api model weights (TF.js weights manifests + binary shards)
# from the npm package @vladmandic/face-api (MIT licence) into DIR.
#
# Usage: scripts/fetch_face_models.sh [DIR]      (default DIR: <repo>/models/face-api)
#
# - Downloads the package tarball with `npm pack` into a temporary directory.
# - Verifies the tarball's sha512 against the integrity string pinned below and, when the
#   registry answers `npm view`, against what the registry reports now.
# - Unpacks only the weights manifests of the models we port and the shards they list.
# - Writes DIR/SHA256SUMS. If DIR already holds every file and all match SHA256SUMS,
#   it says so and exits 0 without touching the network.
# Exit codes: 0 ok, 1 failure (npm missing, registry unreachable, integrity mismatch, ...),
#             2 bad usage.
set -euo pipefail

PKG_NAME="@vladmandic/face-api"
PKG_VERSION="1.7.15"
PKG="${PKG_NAME}@${PKG_VERSION}"
# From `npm view @vladmandic/face-api@1.7.15 dist.integrity`.
PINNED_INTEGRITY="sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw=="
MODELS=(
  face_recognition_model
  ssd_mobilenetv1_model
  tiny_face_detector_model
  face_landmark_68_model
  face_landmark_68_tiny_model
  age_gender_model
)

die() { echo "fetch_face_models: error: $*" >&2; exit 1; }
info() { echo "fetch_face_models: $*"; }

if [[ $# -gt 1 || "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -gt 1 ]] && exit 2
  exit 0
fi

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
DIR="${1:-${REPO_ROOT}/models/face-api}"

# ---- idempotency: everything already there and intact? ---------------------------------
all_present() {
  [[ -f "${DIR}/SHA256SUMS" ]] || return 1
  local m
  for m in "${MODELS[@]}"; do
    grep -q "  ${m}-weights_manifest.json\$" "${DIR}/SHA256SUMS" || return 1
  done
  (cd "${DIR}" && sha256sum --check --quiet --strict SHA256SUMS >/dev/null 2>&1)
}
if all_present; then
  info "all $(wc -l <"${DIR}/SHA256SUMS") files in ${DIR} match SHA256SUMS (${PKG}); nothing to do"
  exit 0
fi

# ---- tools ------------------------------------------------------------------------------
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  die "npm/node not found: install nodejs and npm (Debian: apt-get install nodejs npm)"
fi
for tool in tar sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found"
done

TMP="$(mktemp -d "${TMPDIR:-/tmp}/fetch_face_models.XXXXXX")"
trap 'rm -rf "${TMP}"' EXIT

NPM_NET=(--fetch-retries=1 --fetch-timeout=30000 --no-audit --no-fund --loglevel=error)

# ---- what does the registry say now? (optional: a cached `npm pack` can still work) -----
REGISTRY_INTEGRITY=""
if REGISTRY_INTEGRITY="$(npm view "${NPM_NET[@]}" "${PKG}" dist.integrity 2>"${TMP}/view.err")" \
    && [[ -n "${REGISTRY_INTEGRITY}" ]]; then
  REGISTRY_INTEGRITY="$(echo "${REGISTRY_INTEGRITY}" | tr -d '[:space:]')"
  if [[ "${REGISTRY_INTEGRITY}" != "${PINNED_INTEGRITY}" ]]; then
    die "registry integrity for ${PKG} differs from the pinned one:
  pinned:   ${PINNED_INTEGRITY}
  registry: ${REGISTRY_INTEGRITY}"
  fi
else
  REGISTRY_INTEGRITY=""
  info "warning: could not ask the npm registry about ${PKG} ($(grep -m1 -E 'npm (error|ERR!)' "${TMP}/view.err" 2>/dev/null || true)); checking the pinned hash only"
fi

# ---- download ---------------------------------------------------------------------------
info "downloading ${PKG} with npm pack ..."
if ! (cd "${TMP}" && npm pack "${NPM_NET[@]}" --ignore-scripts "${PKG}" >"${TMP}/pack.out" 2>"${TMP}/pack.err"); then
  grep -m4 -E 'npm (error|ERR!)' "${TMP}/pack.err" >&2 || true
  die "npm registry unreachable (npm pack ${PKG} failed); check network access to $(npm config get registry 2>/dev/null || echo 'the npm registry')"
fi
TARBALL="${TMP}/vladmandic-face-api-${PKG_VERSION}.tgz"
[[ -f "${TARBALL}" ]] || die "npm pack did not produce ${TARBALL} (npm pack said: $(tr "\n" " " <"${TMP}/pack.out"))"

ACTUAL_INTEGRITY="sha512-$(node -e '
  const c = require("crypto"), fs = require("fs");
  process.stdout.write(c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));
' "${TARBALL}")"
if [[ "${ACTUAL_INTEGRITY}" != "${PINNED_INTEGRITY}" ]]; then
  die "integrity mismatch for ${PKG} tarball:
  expected (pinned): ${PINNED_INTEGRITY}
  actual:            ${ACTUAL_INTEGRITY}"
fi
info "tarball sha512 ok (pinned$( [[ -n "${REGISTRY_INTEGRITY}" ]] && echo ' and registry'))"

# ---- unpack manifests, then exactly the shards they list ----------------------------------
mkdir -p "${TMP}/x"
MANIFESTS=()
for m in "${MODELS[@]}"; do MANIFESTS+=("package/model/${m}-weights_manifest.json"); done
tar -xzf "${TARBALL}" -C "${TMP}/x" --no-same-owner "${MANIFESTS[@]}" \
  || die "tarball lacks an expected weights manifest (${MANIFESTS[*]})"

# Shard paths listed in the manifests (relative to the manifest's folder).
mapfile -t SHARDS < <(node -e '
  const fs = require("fs"), path = require("path");
  const seen = new Set();
  for (const f of process.argv.slice(1)) {
    const groups = JSON.parse(fs.readFileSync(f, "utf8"));
    if (!Array.isArray(groups)) throw new Error(f + ": not a weights manifest (expected an array of groups)");
    for (const g of groups) for (const p of g.paths) {
      if (path.isAbsolute(p) || p.split("/").includes("..")) throw new Error(f + ": unsafe shard path " + p);
      if (!seen.has(p)) { seen.add(p); console.log(p); }
    }
  }
' "${MANIFESTS[@]/#/${TMP}/x/}") || die "could not read the shard list from the manifests"
[[ ${#SHARDS[@]} -gt 0 ]] || die "the manifests list no shards"
tar -xzf "${TARBALL}" -C "${TMP}/x" --no-same-owner "${SHARDS[@]/#/package/model/}" \
  || die "tarball lacks a shard listed in a manifest (${SHARDS[*]})"

# ---- install into DIR -------------------------------------------------------------------
mkdir -p "${DIR}"
FILES=()
for m in "${MODELS[@]}"; do FILES+=("${m}-weights_manifest.json"); done
FILES+=("${SHARDS[@]}")
for f in "${FILES[@]}"; do
  mkdir -p "$(dirname "${DIR}/${f}")"
  cp -f "${TMP}/x/package/model/${f}" "${DIR}/${f}.part"
  mv -f "${DIR}/${f}.part" "${DIR}/${f}"
done
(cd "${DIR}" && sha256sum "${FILES[@]}" >SHA256SUMS.part && mv -f SHA256SUMS.part SHA256SUMS)

info "installed ${#FILES[@]} files from ${PKG} (MIT licence) into ${DIR}:"
(cd "${DIR}" && for f in "${FILES[@]}"; do printf '  %-48s %10s bytes\n' "$f" "$(stat -c %s "$f")"; done)
info "checksums: ${DIR}/SHA256SUMS"
