#!/usr/bin/env bash
# Breaking changes: compares the built assembly (.jsii) with the last release on npm (jsii-diff).
#
# Usage: bash scripts/api-diff.sh             (npm run check:api-diff; CI runs it after the build)
#        BASELINE=<dir> bash scripts/api-diff.sh   compares with a local package directory instead
#          (one with .jsii, package.json and node_modules), or BASELINE=npm:<name>@<version>
#
# Until the package is published there is nothing to compare with: npm answers E404 for it, and
# the check says so and passes. Any other npm failure fails the check. From the first release
# on, every API change that breaks a user (removed or renamed types and members, narrowed
# types, props made required) fails, experimental or not (--error-on all): the package is
# experimental, so breaking is allowed, but never by accident. To break on purpose, add the key
# jsii-diff prints (-k) to .api-diff-ignore with a comment, and say so in the release notes;
# empty the file after the release. Construct IDs and custom-resource types are API too: the
# template snapshot tests guard them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

[ -f .jsii ] || { echo "api-diff: no .jsii assembly; run npm run build first" >&2; exit 1; }
NAME="$(node -p 'require("./package.json").name')"
REPO="$(node -p 'require("./package.json").repository.url')"
IGNORE=(--ignore-file .api-diff-ignore)

if [ -n "${BASELINE:-}" ]; then
  echo "api-diff: comparing the built assembly with ${BASELINE}"
  npx --no-install jsii-diff --error-on all --keys "${IGNORE[@]}" "${BASELINE}" .
  echo "api-diff: no breaking change against ${BASELINE}"
  exit 0
fi

out="$(mktemp)"
trap 'rm -f "${out}"' EXIT
if ! npm view "${NAME}" version repository.url --json > "${out}" 2>&1; then
  if grep -q 'E404' "${out}"; then
    echo "api-diff: ${NAME} has no release on npm yet, so there is no API to compare with; jsii-diff runs from the first release on"
    exit 0
  fi
  echo "api-diff: npm view ${NAME} failed:" >&2
  cat "${out}" >&2
  exit 1
fi
released="$(node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(v.version)' "${out}")"
released_repo="$(node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(v["repository.url"] ?? "")' "${out}")"
if [ "${released_repo}" != "${REPO}" ]; then
  echo "api-diff: ${NAME}@${released} on npm comes from ${released_repo:-an unknown repository}, not ${REPO}: not our package" >&2
  exit 1
fi
echo "api-diff: comparing .jsii with ${NAME}@${released} (npm)"
npx --no-install jsii-diff --error-on all --keys "${IGNORE[@]}" "npm:${NAME}@${released}" .
echo "api-diff: no breaking change against ${NAME}@${released}"
