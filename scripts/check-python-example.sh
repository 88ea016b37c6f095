#!/usr/bin/env bash
# The README's Python examples, checked against the Python bindings of this package.
#
# jsii-pacmak generates the bindings offline (--code-only: no pip, no wheel), then
# scripts/check-python-example.py compiles each ```python block of README.md and checks every
# name, call, keyword argument and attribute it takes from cdk_multi_staging against them.
# (jsii-rosetta translates the TypeScript example too, but its snake_case is not pacmak's:
# it writes memory_limit_mi_b where the bindings have memory_limit_mib.)
# Needs the assembly: run `npm run build` first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

[ -f .jsii ] || { echo "check-python-example: no .jsii assembly; run npm run build first" >&2; exit 1; }
command -v python3 >/dev/null || { echo "check-python-example: python3 is needed" >&2; exit 1; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/python-example.XXXXXX")"
trap 'rm -rf "${WORK}"' EXIT

npx --no-install jsii-pacmak --targets python --code-only --outdir "${WORK}/bindings" >/dev/null
module="$(node -p 'require("./package.json").jsii.targets.python.module')"
bindings="${WORK}/bindings/python/src/${module}/__init__.py"
[ -f "${bindings}" ] || { echo "check-python-example: jsii-pacmak wrote no ${bindings}" >&2; exit 1; }

# Every ```python block of the README, one file each.
awk -v dir="${WORK}" '
  /^```python$/ { n++; file = sprintf("%s/example-%d.py", dir, n); inside = 1; next }
  /^```$/ && inside { inside = 0; close(file); next }
  inside { print > file }
' README.md
examples=("${WORK}"/example-*.py)
[ -f "${examples[0]}" ] || { echo "check-python-example: README.md has no \`\`\`python block" >&2; exit 1; }
for example in "${examples[@]}"; do
  python3 scripts/check-python-example.py "${bindings}" "${example}"
done
echo "check-python-example: ${#examples[@]} README example(s) match the bindings"
