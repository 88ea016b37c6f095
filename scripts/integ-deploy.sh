#!/usr/bin/env bash
# `npm run integ:deploy`: the maintainer's one command that proves the whole path in a real AWS
# account (README, "Integration tests in a real account"). It
#   1. deploys every integ test app (test/integ/integ.*.ts) with integ-runner, runs its assertions
#      and destroys its stacks (integ-runner --force --update-on-failed);
#   2. checks that nothing tagged with a test branch remains (scripts/integ-leftovers.ts);
#   3. rewrites the snapshots offline with the example values again, so the account's domain and
#      zone never reach a commit (integ-runner writes the snapshot of what it deployed).
# Needs credentials for the account (AWS_PROFILE or the usual variables), a CDK-bootstrapped
# region, and a public hosted zone there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for v in STAGING_INTEG_DOMAIN STAGING_INTEG_HOSTED_ZONE_ID STAGING_INTEG_HOSTED_ZONE_NAME; do
  [ -n "${!v:-}" ] || missing+=("$v")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "integ:deploy needs ${missing[*]}: a public hosted zone of the account and a staging domain inside it, e.g." >&2
  echo "  STAGING_INTEG_REGION=eu-west-1 STAGING_INTEG_HOSTED_ZONE_ID=Z0123456789ABCDEFGHIJ STAGING_INTEG_HOSTED_ZONE_NAME=example.com STAGING_INTEG_DOMAIN=integ.staging.example.com npm run integ:deploy" >&2
  exit 2
fi
export STAGING_INTEG_REGION="${STAGING_INTEG_REGION:-eu-west-1}"

status=0
# --force: every test, not only those whose snapshot changed. --no-update-workflow: start from
# nothing (the committed snapshots hold example values, not this account's).
npx integ-runner --force --update-on-failed --no-update-workflow --parallel-regions "${STAGING_INTEG_REGION}" "$@" || status=$?
npx tsx scripts/integ-leftovers.ts || status=$?

echo "integ:deploy: rewriting the snapshots with the example values (offline)"
env -u STAGING_INTEG_REGION -u STAGING_INTEG_DOMAIN -u STAGING_INTEG_HOSTED_ZONE_ID -u STAGING_INTEG_HOSTED_ZONE_NAME \
  npx integ-runner --update-on-failed --dry-run --force >/dev/null || status=$?
exit "${status}"
