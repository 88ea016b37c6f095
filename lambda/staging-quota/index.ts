/**
 * Custom resource `staging-quota` (`Custom::StagingQuota`): the cap on branch stagings
 * (`SharedStagingProps.maxStagings`). Every other resource of a branch stack depends on it, so its
 * Create runs first and, when it fails, nothing of the branch has been created.
 *
 * ResourceProperties: StagingName (required), Branch (for the message).
 * Environment: QUOTA_PREFIX (required), MAX_STAGINGS (absent: no cap, every deploy passes).
 * PhysicalResourceId: `staging-quota:<staging name>`, never changed by an Update.
 *
 * - Create lists every stack (DescribeStacks, all pages) and counts the branch stagings of the
 *   prefix as `staging list` finds them (tagged `staging:kind` feature|feature-lite and
 *   `staging:prefix`, named `<prefix>-<staging:name>`), leaving out the stack being deployed and
 *   stacks that hold nothing or are going away: DELETE_IN_PROGRESS, DELETE_COMPLETE, and failed
 *   first deploys (ROLLBACK_IN_PROGRESS, ROLLBACK_COMPLETE), such as a branch refused by this cap.
 *   DELETE_FAILED and ROLLBACK_FAILED still hold resources and count. It fails when the count is
 *   at the cap or above, naming the cap, the stagings and how to free one.
 * - Create in a stack that already existed (UPDATE_IN_PROGRESS: a branch deployed before this
 *   resource existed gets it on its next update) passes: a redeploy never fails on the cap. Update
 *   passes at once. Delete is a no-op.
 * - A failed DescribeStacks fails the Create (the SDK retries throttling first): without a count
 *   the cap cannot be kept, and a retry of the deploy is cheap, since nothing was created.
 *
 * Race: in-progress stacks count (CREATE_IN_PROGRESS, REVIEW_IN_PROGRESS), and a stack exists
 * before its own quota check runs. So when two first deploys run at once, each check sees the
 * other's stack: they cannot both take the last slot, though both may be refused, and a retry
 * lets one in. This relies on DescribeStacks listing a new stack at once, which AWS does not
 * promise, so in rare cases the cap may still be passed. A claim (an SSM parameter per staging,
 * created with Overwrite=false) would close that gap. But then the claims of failed or abandoned
 * deploys would need their own cleanup, while counting the stacks needs none.
 */
import { CloudFormationClient, paginateDescribeStacks, type Stack } from '@aws-sdk/client-cloudformation';
import { branchStagingOf, isBranchStaging } from '../../lib/contract/branch-state';
import { StagingQuotaEnvironment, capOf, parseProperties, physicalIdFor } from '../../lib/contract/providers/staging-quota';
import { log, type OnEventRequest, type OnEventResponse } from '../shared/provider';
import { describeError } from '../shared/errors';
import { entry } from '../shared/entry';

/** Throttling and transient errors are retried by the SDK itself. */
export const cloudformation = new CloudFormationClient({ maxAttempts: 8, retryMode: 'adaptive' });

/** Statuses of stacks that do not count: going away, gone, or a failed first deploy rolled back (holding nothing). */
export const NOT_COUNTED_STATUSES: readonly string[] = ['DELETE_IN_PROGRESS', 'DELETE_COMPLETE', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_COMPLETE'];

/** A branch staging that counts against the cap. */
export interface CountedStaging {
  readonly stackName: string;
  readonly branch: string;
  readonly status: string;
}

/** What Create decided, and why. */
export interface QuotaDecision {
  readonly allowed: boolean;
  readonly reason: string;
  /** The other branch stagings of the prefix that count. */
  readonly counted: CountedStaging[];
}

/**
 * The decision of a Create, from the stacks that exist (pure). `stackId` is the stack being
 * deployed; `cap` undefined means no cap.
 */
export function decide(stacks: Stack[], input: { prefix: string; cap?: number; stackId: string }): QuotaDecision {
  const own = stacks.find((s) => s.StackId === input.stackId);
  const counted: CountedStaging[] = [];
  for (const s of stacks) {
    if (s.StackId === input.stackId) continue;
    const staging = branchStagingOf(s, input.prefix);
    if (!isBranchStaging(staging) || NOT_COUNTED_STATUSES.includes(s.StackStatus ?? '')) continue;
    counted.push({ stackName: staging.stackName, branch: staging.branch, status: s.StackStatus ?? 'UNKNOWN' });
  }
  counted.sort((a, b) => a.stackName.localeCompare(b.stackName));
  if (input.cap === undefined) return { allowed: true, reason: 'no cap (maxStagings is not set)', counted };
  // An update of a stack that exists (UPDATE_IN_PROGRESS): a branch deployed before it had this resource.
  if (own && /^(UPDATE|IMPORT)_/.test(own.StackStatus ?? '')) {
    return { allowed: true, reason: `the stack exists already (${own.StackStatus}): a redeploy never fails on the cap`, counted };
  }
  if (counted.length < input.cap) return { allowed: true, reason: `${counted.length} other branch staging(s), below the cap of ${input.cap}`, counted };
  return { allowed: false, reason: capMessage(input.prefix, input.cap, counted), counted };
}

function capMessage(prefix: string, cap: number, counted: CountedStaging[]): string {
  const list = counted.map((c) => `${c.branch} (${c.stackName}, ${c.status})`).join(', ');
  return (
    `The staging cap is reached: maxStagings is ${cap} and ${counted.length} branch staging(s) of prefix "${prefix}" exist: ${list}. ` +
    'Nothing of this branch was created. Free one with `npx staging list` and `npx staging destroy <branch>`, then deploy again; ' +
    'or raise maxStagings on SharedStaging (staging.maxStagings in the ready-made app) and deploy the shared stack.'
  );
}

async function allStacks(): Promise<Stack[]> {
  const stacks: Stack[] = [];
  try {
    for await (const page of paginateDescribeStacks({ client: cloudformation }, {})) stacks.push(...(page.Stacks ?? []));
  } catch (e) {
    throw new Error(`Could not count the branch stagings (cloudformation:DescribeStacks failed: ${describeError(e)}); nothing of this branch was created, deploy again`);
  }
  return stacks;
}

async function handleEvent(event: OnEventRequest): Promise<OnEventResponse> {
  const physicalId = event.PhysicalResourceId ?? physicalIdFor(parseProperties(event.ResourceProperties).stagingName);
  if (event.RequestType !== 'Create') {
    log(`${event.RequestType}: nothing to check`, { physicalId });
    return { PhysicalResourceId: physicalId };
  }
  const cap = capOf(process.env[StagingQuotaEnvironment.MAX_STAGINGS]);
  const prefix = process.env[StagingQuotaEnvironment.PREFIX];
  if (!prefix) throw new Error(`${StagingQuotaEnvironment.PREFIX} is not set on the staging-quota provider; deploy the shared stack again`);
  if (cap === undefined) {
    log('Create: no cap', { physicalId });
    return { PhysicalResourceId: physicalId };
  }
  const decision = decide(await allStacks(), { prefix, cap, stackId: event.StackId });
  log(decision.allowed ? 'Create: allowed' : 'Create: refused', { physicalId, branch: event.ResourceProperties.Branch, cap, counted: decision.counted.length, reason: decision.reason });
  if (!decision.allowed) throw new Error(decision.reason);
  return { PhysicalResourceId: physicalId };
}
export const onEvent = entry('staging-quota.onEvent', handleEvent);
