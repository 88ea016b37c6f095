/**
 * The last step of `npm run integ:deploy`, after integ-runner has destroyed every stack: nothing
 * tagged with a test branch may remain. Asks the Resource Groups Tagging API for resources with the
 * test's `staging:prefix` and each branch's `staging:name` (lib/contract/staging.ts TagKeys), and
 * fails with their ARNs when any is left. The API is eventually consistent (a resource deleted a
 * minute ago may still be listed), so it asks again every 30 s for up to 10 minutes before failing.
 *
 * It also lists what the test's shared stagings left on purpose (the access-log bucket), so the
 * maintainer can delete it: README, "Integration tests in a real account".
 *
 * Usage: STAGING_INTEG_REGION=eu-west-1 npx tsx scripts/integ-leftovers.ts
 */
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient, ResourceTagMapping, paginateGetResources } from '@aws-sdk/client-resource-groups-tagging-api';
import { StagingNames } from '../lib/contract/naming';
import { TagKeys } from '../lib/contract/staging';
import { INTEG_STAGINGS, integSettings } from '../test/integ/integ-env';

const ATTEMPTS = 21;
const PAUSE_MS = 30_000;

async function tagged(client: ResourceGroupsTaggingAPIClient, prefix: string, name?: string): Promise<ResourceTagMapping[]> {
  const TagFilters = [{ Key: TagKeys.PREFIX, Values: [prefix] }, ...(name ? [{ Key: TagKeys.NAME, Values: [name] }] : [])];
  const found: ResourceTagMapping[] = [];
  for await (const page of paginateGetResources({ client }, { TagFilters })) found.push(...(page.ResourceTagMappingList ?? []));
  return found;
}

async function main(): Promise<void> {
  const { region } = integSettings();
  const client = new ResourceGroupsTaggingAPIClient({ region });
  // Fail fast on credentials or permissions, before the first pause.
  await client.send(new GetResourcesCommand({ ResourcesPerPage: 1 }));
  const branches = Object.values(INTEG_STAGINGS).flatMap((s) => Object.values(s.branches).map((b) => ({ prefix: s.prefix, branch: b, name: StagingNames.fromBranch(b, s.prefix).name })));

  let left: { branch: string; arns: string[] }[] = [];
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    left = [];
    for (const b of branches) {
      const arns = (await tagged(client, b.prefix, b.name)).map((r) => r.ResourceARN ?? '?');
      if (arns.length > 0) left.push({ branch: b.branch, arns });
    }
    if (left.length === 0) break;
    if (attempt < ATTEMPTS) {
      console.log(`integ-leftovers: ${left.reduce((n, l) => n + l.arns.length, 0)} resource(s) still tagged with a test branch; asking again in 30 s (${attempt}/${ATTEMPTS - 1})`);
      await new Promise((r) => setTimeout(r, PAUSE_MS));
    }
  }

  for (const s of Object.values(INTEG_STAGINGS)) {
    const rest = (await tagged(client, s.prefix)).map((r) => r.ResourceARN ?? '?').filter((arn) => !left.some((l) => l.arns.includes(arn)));
    if (rest.length > 0) console.log(`integ-leftovers: kept on purpose or not a branch's, tagged ${TagKeys.PREFIX}=${s.prefix} (delete by hand when done):\n  ${rest.join('\n  ')}`);
  }
  if (left.length > 0) {
    console.error('integ-leftovers: FAILED: resources tagged with a destroyed test branch remain after 10 minutes:');
    for (const l of left) console.error(`  ${l.branch}:\n    ${l.arns.join('\n    ')}`);
    process.exit(1);
  }
  console.log(`integ-leftovers: nothing tagged with ${branches.map((b) => b.name).join(', ')} remains in ${region}`);
}

main().catch((e: unknown) => {
  console.error(`integ-leftovers: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
