#!/usr/bin/env bash
# The consumer test: what a user gets from `npm install cdk-multi-staging`.
#
# Builds and packs the library, installs the tarball into a fresh temporary CDK app together with
# only the peer dependencies (aws-cdk-lib, constructs) and the tools a user runs (the aws-cdk CLI,
# tsx, typescript), copies the frontend-lite and rails-app examples there, then synthesizes and
# type-checks them. It proves that the package holds the compiled code, the type declarations
# (without @internal members), the jsii assembly (.jsii), API.md and the pre-bundled handlers,
# and that nothing dev-only is needed at runtime.
#
# Usage: bash scripts/consumer-test.sh      (KEEP_TMP=1 keeps the temporary app)
# Prints "consumer-test: PASS" or "consumer-test: FAIL: <why>" last; exits non-zero on failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cdk-multi-staging-consumer.XXXXXX")"
APP="${WORK}/app"
HANDLERS=(database-restore listener-priority redis-prefix release-task solr-collection sweeper)
EXAMPLES=(frontend-lite rails-app)
BRANCH="feature/consumer-test"
START=${SECONDS}
STEP="setup"

step() {
  STEP="$1"
  echo
  echo "=== [$((SECONDS - START))s] ${STEP}"
}

fail() {
  echo "consumer-test: FAIL: $*" >&2
  exit 1
}

finish() {
  local rc=$?
  if [ "${rc}" -eq 0 ]; then
    echo
    echo "consumer-test: PASS (tarball ${TARBALL_NAME:-?}, ${#EXAMPLES[@]} examples x 2 synths + tsc, $((SECONDS - START))s)"
  else
    echo
    echo "consumer-test: FAIL at step \"${STEP}\" (exit ${rc}, $((SECONDS - START))s); temporary app kept at ${APP}" >&2
    return "${rc}"
  fi
  if [ "${KEEP_TMP:-0}" = "1" ]; then echo "temporary app kept at ${APP}"; else rm -rf "${WORK}"; fi
}
trap finish EXIT

# Versions the user installs next to the package: the same as this repository's.
version() {
  local v
  v="$(node -p "require('${ROOT}/package.json').devDependencies['$1'] ?? ''")"
  [ -n "${v}" ] || fail "package.json has no devDependency $1 to take the version from"
  echo "${v}"
}
CDK_LIB_VERSION="$(version aws-cdk-lib)"
CONSTRUCTS_VERSION="$(version constructs)"
CDK_CLI_VERSION="$(version aws-cdk)"
TSX_VERSION="$(version tsx)"
TYPESCRIPT_VERSION="5.9.3"

step "build and pack the library (npm pack: prepack builds, and strips the repository's scripts from the packed package.json)"
TARBALL_NAME="$(cd "${ROOT}" && npm pack --silent --pack-destination "${WORK}" | tail -n 1)"
TARBALL="${WORK}/${TARBALL_NAME}"
[ -f "${TARBALL}" ] || fail "npm pack did not write ${TARBALL}"
echo "${TARBALL_NAME}: $(du -k "${TARBALL}" | cut -f1) KiB"
# postpack put the repository's package.json back.
[ ! -e "${ROOT}/.package.json.pack" ] || fail "postpack left ${ROOT}/.package.json.pack: run node scripts/pack-manifest.mjs restore"
node -e 'process.exit(require(process.argv[1]).scripts?.prepare ? 0 : 1)' "${ROOT}/package.json" || fail "package.json lost its prepare script after npm pack"

step "check the tarball's contents (tar tzf)"
tar tzf "${TARBALL}" | sort > "${WORK}/contents.txt"
missing=()
expect_file() { grep -qx "package/$1" "${WORK}/contents.txt" || missing+=("$1"); }
expect_file package.json
# The jsii assembly (Construct Hub reads it; jsii-pacmak builds the other languages from it) and the API reference.
expect_file .jsii
expect_file API.md
# Every module of lib/ compiled, with its declarations (dist/index.js, dist/testing.d.ts, ...).
while IFS= read -r source; do
  module="${source#lib/}"
  module="${module%.ts}"
  expect_file "dist/${module}.js"
  expect_file "dist/${module}.d.ts"
done < <(cd "${ROOT}" && find lib -name '*.ts' ! -name '*.d.ts' | sort)
for handler in "${HANDLERS[@]}"; do expect_file "assets/handlers/${handler}/index.js"; done
if [ "${#missing[@]}" -gt 0 ]; then
  fail "the tarball lacks: ${missing[*]} (check \"files\" in package.json and that npm run build wrote them)"
fi
# Nothing that is only for this repository.
stray="$(grep -E '^package/(lib|lambda|test|bin|scripts|examples|node_modules)/|^package/cdk\.json$|^package/tsconfig|\.test\.' "${WORK}/contents.txt" || true)"
[ -z "${stray}" ] || fail "the tarball contains repository-only files: ${stray//$'\n'/, }"
echo "$(wc -l < "${WORK}/contents.txt") files: $(grep -c '^package/dist/.*\.js$' "${WORK}/contents.txt") dist/*.js, $(grep -c '^package/dist/.*\.d\.ts$' "${WORK}/contents.txt") dist/*.d.ts, ${#HANDLERS[@]} handler bundles"

step "check the packed assembly: the package's name and version, no @internal in the declarations"
tar xzf "${TARBALL}" -C "${WORK}" package/.jsii
node -e '
  const [assemblyFile, pkgFile] = process.argv.slice(1);
  const a = JSON.parse(require("fs").readFileSync(assemblyFile, "utf8"));
  const p = require(pkgFile);
  if (a.name !== p.name || a.version !== p.version) { console.error(`.jsii is ${a.name}@${a.version}, package.json is ${p.name}@${p.version}`); process.exit(1); }
  console.log(`.jsii: ${a.name}@${a.version}, ${Object.keys(a.types).length} types, targets ${Object.keys(a.targets).join(", ")}`);
' "${WORK}/package/.jsii" "${ROOT}/package.json" || fail "the packed .jsii does not belong to this package version"
if tar xzf "${TARBALL}" -O --wildcards 'package/dist/*.d.ts' | grep -q '@internal'; then
  fail "the packed declarations still contain @internal members"
fi

step "check the packed package.json: no runtime dependencies besides the peers"
tar xzf "${TARBALL}" -C "${WORK}" package/package.json
node -e '
  const p = require(process.argv[1]);
  const problems = [];
  for (const field of ["dependencies", "optionalDependencies", "bundleDependencies", "bundledDependencies"]) {
    const value = p[field];
    if (value && Object.keys(value).length > 0) problems.push(`${field}: ${JSON.stringify(value)}`);
  }
  const peers = Object.keys(p.peerDependencies ?? {}).sort().join(",");
  if (peers !== "aws-cdk-lib,constructs") problems.push(`peerDependencies should be aws-cdk-lib and constructs, got ${peers}`);
  // npm warns on installing a package with a prepare script; scripts/pack-manifest.mjs strips these.
  for (const script of ["prepare", "prepack", "postpack", "preinstall", "install", "postinstall"]) {
    if (p.scripts?.[script]) problems.push(`scripts.${script} is packed: ${p.scripts[script]}`);
  }
  if (problems.length) { console.error(problems.join("\n")); process.exit(1); }
  console.log(`peerDependencies: ${JSON.stringify(p.peerDependencies)}; no dependencies`);
' "${WORK}/package/package.json" || fail "the packed package.json declares runtime dependencies or install scripts"

step "create a fresh CDK app and install the tarball with the peers and tools only"
mkdir -p "${APP}"
cat > "${APP}/package.json" <<'EOF'
{
  "name": "consumer-test-app",
  "version": "0.0.0",
  "private": true
}
EOF
echo "aws-cdk-lib@${CDK_LIB_VERSION} constructs@${CONSTRUCTS_VERSION} aws-cdk@${CDK_CLI_VERSION} tsx@${TSX_VERSION} typescript@${TYPESCRIPT_VERSION}"
(cd "${APP}" && npm install --no-audit --no-fund --prefer-offline --loglevel=error \
  "${TARBALL}" \
  "aws-cdk-lib@${CDK_LIB_VERSION}" \
  "constructs@${CONSTRUCTS_VERSION}" \
  "aws-cdk@${CDK_CLI_VERSION}" \
  "tsx@${TSX_VERSION}" \
  "typescript@${TYPESCRIPT_VERSION}")

step "npx staging --help (the bundled CLI, from the tarball)"
(cd "${APP}" && npx --no-install staging --help > "${WORK}/staging-help.txt") || fail "npx staging --help failed"
grep -q "Usage: staging" "${WORK}/staging-help.txt" || fail "npx staging --help printed no usage: $(cat "${WORK}/staging-help.txt")"
(cd "${APP}" && npx --no-install staging cost --help | grep -q "Example:") || fail "npx staging cost --help shows no example"
# A reader that stops early (head) closes the pipe: the CLI exits 0, with nothing on stderr.
(cd "${APP}" && npx --no-install staging --help 2> "${WORK}/staging-epipe.txt" | true; [ "${PIPESTATUS[0]}" -eq 0 ]) || fail "npx staging --help | true failed: $(cat "${WORK}/staging-epipe.txt")"
[ ! -s "${WORK}/staging-epipe.txt" ] || fail "npx staging --help | true wrote to stderr: $(cat "${WORK}/staging-epipe.txt")"

step "check that no devDependency of the library was installed for it"
# The lockfile graph: what cdk-multi-staging pulls in must be only its peers (and theirs).
# Dev-only packages of the library may be present only because a tool (tsx, aws-cdk, typescript) needs them.
node -e '
  const [root, app] = process.argv.slice(1);
  const lib = require(`${root}/package.json`);
  const lock = require(`${app}/package-lock.json`).packages;
  const byName = new Map();
  for (const [path, entry] of Object.entries(lock)) {
    if (!path) continue;
    const name = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name).push(entry);
  }
  const reach = (start) => {
    const seen = new Set();
    const todo = [start];
    while (todo.length) {
      const name = todo.pop();
      if (seen.has(name) || !byName.has(name)) continue;
      seen.add(name);
      for (const entry of byName.get(name)) {
        for (const deps of [entry.dependencies, entry.optionalDependencies, entry.peerDependencies]) {
          for (const dep of Object.keys(deps ?? {})) todo.push(dep);
        }
      }
    }
    return seen;
  };
  const peers = Object.keys(lib.peerDependencies);
  const tools = ["aws-cdk", "tsx", "typescript"];
  const allowedForLib = new Set(["cdk-multi-staging", ...peers.flatMap((p) => [...reach(p)])]);
  const extra = [...reach("cdk-multi-staging")].filter((n) => !allowedForLib.has(n));
  if (extra.length) { console.error(`cdk-multi-staging pulls in more than its peers: ${extra.join(", ")}`); process.exit(1); }
  const forTools = new Set(tools.flatMap((t) => [...reach(t)]));
  // What the library could require: node_modules/<name> or node_modules/cdk-multi-staging/node_modules/<name>
  // (packages nested in another package, e.g. those bundled in aws-cdk-lib, are out of its reach).
  const resolvable = (name) => [`node_modules/${name}`, `node_modules/cdk-multi-staging/node_modules/${name}`].some((p) => p in lock);
  const problems = [];
  for (const dev of Object.keys(lib.devDependencies)) {
    if (peers.includes(dev) || tools.includes(dev) || !resolvable(dev)) continue;
    if (forTools.has(dev)) console.log(`${dev}: installed, but only for the tools (${tools.filter((t) => reach(t).has(dev)).join(", ")})`);
    else problems.push(dev);
  }
  if (problems.length) { console.error(`devDependencies installed for no tool: ${problems.join(", ")}`); process.exit(1); }
  const absent = Object.keys(lib.devDependencies).filter((d) => !resolvable(d));
  console.log(`not installed: ${absent.join(", ")}`);
' "${ROOT}" "${APP}" || fail "the installed package needs more than its peer dependencies"

step "load the compiled package with plain node (no TypeScript)"
(cd "${APP}" && node -e '
  const lib = require("cdk-multi-staging");
  const testing = require("cdk-multi-staging/testing");
  const missing = ["SharedStaging", "SharedStagingRef", "FeatureStaging", "FeatureStagingLite", "StagingSweeper", "StagingNames", "StagingDatabase", "StagingCache", "StagingSearch"].filter((n) => typeof lib[n] !== "function");
  if (typeof testing.normalizeTemplate !== "function") missing.push("testing.normalizeTemplate");
  if (missing.length) { console.error(`missing exports: ${missing.join(", ")}`); process.exit(1); }
  console.log(`cdk-multi-staging loads from ${require.resolve("cdk-multi-staging")}`);
') || fail "the package does not load with node"

step "copy the examples"
for example in "${EXAMPLES[@]}"; do
  mkdir -p "${APP}/${example}"
  cp "${ROOT}/examples/${example}/app.ts" "${ROOT}/examples/${example}/stacks.ts" "${ROOT}/examples/${example}/cdk.json" "${APP}/${example}/"
done
# A user's snapshot test imports the testing entry point; type-check that it resolves too.
cat > "${APP}/snapshot-check.ts" <<'EOF'
import { normalizeTemplate, templateSnapshotSerializer } from 'cdk-multi-staging/testing';

export const masked: unknown = normalizeTemplate({ Resources: {} });
export const serializer: { test(value: unknown): boolean } = templateSnapshotSerializer;
EOF
# The tsconfig of `cdk init app --language typescript` (NodeNext: the package's "exports" and "types" must resolve), minus jest/node types.
cat > "${APP}/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["es2022"],
    "strict": true,
    "noImplicitReturns": true,
    "skipLibCheck": true,
    "isolatedModules": true,
    "noEmit": true,
    "types": []
  },
  "exclude": ["node_modules", "**/cdk.out"]
}
EOF

# The stack names of a cloud assembly, one per line.
stack_names() {
  node -e '
    const manifest = require(require("path").resolve(process.argv[1], "manifest.json"));
    for (const [id, a] of Object.entries(manifest.artifacts ?? {})) {
      // The manifest leaves stackName out when it equals the artifact id.
      if (a.type === "aws:cloudformation:stack") console.log(a.properties?.stackName ?? id);
    }
  ' "$1"
}

for example in "${EXAMPLES[@]}"; do
  step "${example}: npx cdk synth --quiet"
  (cd "${APP}/${example}" && npx cdk synth --quiet)
  stacks="$(stack_names "${APP}/${example}/cdk.out")"
  [ "${stacks}" = "staging-shared" ] || fail "${example}: expected exactly the stack staging-shared, got: ${stacks//$'\n'/ }"
  echo "one stack: ${stacks}"

  step "${example}: the synthesized handler assets are the packaged bundles"
  node -e '
    const fs = require("fs"), path = require("path"), crypto = require("crypto");
    const [pkg, out, ...handlers] = process.argv.slice(1);
    const sha = (f) => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");
    const assets = new Set(fs.readdirSync(out).filter((d) => d.startsWith("asset.")).map((d) => path.join(out, d, "index.js")).filter(fs.existsSync).map(sha));
    const missing = handlers.filter((h) => !assets.has(sha(path.join(pkg, "assets", "handlers", h, "index.js"))));
    if (missing.length) { console.error(`no asset in ${out} matches the packaged bundle of: ${missing.join(", ")}`); process.exit(1); }
    console.log(`${handlers.length} handler assets match the packaged bundles`);
  ' "${APP}/node_modules/cdk-multi-staging" "${APP}/${example}/cdk.out" "${HANDLERS[@]}" || fail "${example}: handler assets do not come from the package"

  step "${example}: npx cdk synth --quiet -c branch=${BRANCH}"
  rm -rf "${APP}/${example}/cdk.out"
  (cd "${APP}/${example}" && npx cdk synth --quiet -c "branch=${BRANCH}")
  stacks="$(stack_names "${APP}/${example}/cdk.out")"
  [[ "${stacks}" =~ ^staging-feature-consumer-test-[0-9a-f]{8}$ ]] \
    || fail "${example}: expected exactly one stack staging-feature-consumer-test-<hash>, got: ${stacks//$'\n'/ }"
  echo "one stack: ${stacks}"

  step "${example}: npx staging cost cdk.out names only files the user has"
  (cd "${APP}/${example}" && npx --no-install staging cost cdk.out > "${WORK}/cost.txt") || fail "${example}: npx staging cost cdk.out failed"
  for cited in $(grep -oE '(node_modules|dist|lib)/[A-Za-z0-9_./-]+\.(js|ts|md)' "${WORK}/cost.txt" | sort -u); do
    [ -f "${APP}/${example}/${cited}" ] || [ -f "${APP}/${cited}" ] || fail "${example}: staging cost cites ${cited}, which the installed package does not have"
    echo "cites ${cited}: present"
  done
done

step "type-check the examples against the package's declarations (tsc --noEmit)"
(cd "${APP}" && npx tsc --noEmit -p tsconfig.json && echo "tsc (NodeNext): no errors in $(find . -name '*.ts' -not -path './node_modules/*' | wc -l) files")

step "type-check the examples as an older CDK app does (\"module\": \"commonjs\", moduleResolution node10)"
# node10 resolution ignores "exports": the main entry resolves through "types".
cat > "${APP}/tsconfig.node10.json" <<'EOF'
{
  "extends": "./tsconfig.json",
  "compilerOptions": { "module": "commonjs", "moduleResolution": "node10" },
  "exclude": ["node_modules", "**/cdk.out", "snapshot-check.ts"]
}
EOF
(cd "${APP}" && npx tsc --noEmit -p tsconfig.node10.json && echo "tsc (node10): no errors in the examples")
# The testing subpath needs "typesVersions" in package.json to resolve under node10: reported, not failed.
cat > "${APP}/tsconfig.node10-testing.json" <<'EOF'
{
  "extends": "./tsconfig.node10.json",
  "include": ["snapshot-check.ts"],
  "exclude": ["node_modules"]
}
EOF
if (cd "${APP}" && npx tsc --noEmit -p tsconfig.node10-testing.json > "${WORK}/tsc-node10-testing.txt" 2>&1); then
  echo "tsc (node10): cdk-multi-staging/testing resolves"
else
  echo "WARNING: under moduleResolution node10, 'cdk-multi-staging/testing' has no types:"
  grep -v 'nodedir' "${WORK}/tsc-node10-testing.txt" | sed 's/^/  /'
  echo '  Fix: add "typesVersions": { "*": { "testing": ["dist/testing.d.ts"] } } to package.json.'
fi

STEP="done"
