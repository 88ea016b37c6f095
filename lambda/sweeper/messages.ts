/**
 * The SNS messages the sweeper publishes: plain text a person reads in an e-mail or chat, with
 * message attributes (`event`, `staging`, `prefix`) so subscriptions can filter, e.g. one
 * developer subscribing to their own branch only.
 */
import { BranchStatePaths, formatPin } from '../../lib/contract/branch-state';
import { CompletedDeletion, ResourceInfo, StagingReport, SweeperConfig, isoDate } from './model';

export type NoticeEvent = 'warning' | 'deleting' | 'deleted' | 'delete-failed';

export interface Notice {
  readonly event: NoticeEvent;
  readonly stagingName: string;
  readonly subject: string;
  readonly message: string;
}

const DAY_MS = 24 * 3600 * 1000;

/** The exact command that pins a staging until `date` (kept until the end of that UTC day). */
export function pinCommand(config: SweeperConfig, stagingName: string, date: string): string {
  const name = new BranchStatePaths(config.parameterPrefix).pins.of(stagingName);
  return `aws ssm put-parameter --region ${config.region} --type String --overwrite --name "${name}" --value "${date}"`;
}

/** The exact command that records a keep-alive now. */
export function keepAliveCommand(config: SweeperConfig, stagingName: string): string {
  const name = new BranchStatePaths(config.parameterPrefix).keepAlives.of(stagingName);
  return `aws ssm put-parameter --region ${config.region} --type String --overwrite --name "${name}" --value "$(date -u +%Y-%m-%dT%H:%M:%SZ)"`;
}

const SOURCES: Record<string, string> = {
  'stack-created': 'stack created',
  'stack-updated': 'last deploy (stack update)',
  'keep-alive': 'keep-alive parameter',
  request: 'last request to the web target group',
};

export function warningNotice(config: SweeperConfig, s: StagingReport, deleteAtMs: number): Notice {
  const pinUntil = formatPin(deleteAtMs + 14 * DAY_MS);
  const lines = [
    `The feature staging "${s.stagingName}" (branch ${s.branch}) has had no activity for a while and will be deleted at ${new Date(deleteAtMs).toISOString()}.`,
    '',
    `Branch:        ${s.branch}`,
    `URL:           ${s.url ?? '(no URL output)'}`,
    `Stack:         ${s.stackName} (${config.region})`,
    `Last activity: ${s.lastActivity} (${SOURCES[s.lastActivitySource ?? ''] ?? s.lastActivitySource})`,
    `Deletion at:   ${new Date(deleteAtMs).toISOString()} (on the first sweeper run after that time)`,
    '',
    'To keep it, do one of these before then:',
    `- Pin it until a date (kept until the end of that UTC day; no redeploy needed):`,
    `    ${pinCommand(config, s.stagingName, pinUntil)}`,
    `- Use it: any request to ${s.url ?? 'its URL'} or a deploy of the branch counts as activity.`,
    `- Record a keep-alive (counts as activity now):`,
    `    ${keepAliveCommand(config, s.stagingName)}`,
    '',
    'To let it go, do nothing. Redeploying the branch later creates it afresh.',
  ];
  return {
    event: 'warning',
    stagingName: s.stagingName,
    subject: subject(`Staging ${s.stagingName} will be deleted ${isoDate(deleteAtMs)}`),
    message: lines.join('\n'),
  };
}

export function deletingNotice(config: SweeperConfig, s: StagingReport): Notice {
  const lines = [
    `The sweeper is deleting the idle feature staging "${s.stagingName}" (branch ${s.branch}).`,
    '',
    `Branch:        ${s.branch}`,
    `URL:           ${s.url ?? '(no URL output)'}`,
    `Stack:         ${s.stackName} (${config.region})`,
    `Stack id:      ${s.stackId}`,
    `Last activity: ${s.lastActivity} (${SOURCES[s.lastActivitySource ?? ''] ?? s.lastActivitySource})`,
    `Announced for: ${s.deleteAt}`,
    ...retainedLines(s.retainedResources),
    '',
    'CloudFormation deletes every resource of the stack. A message follows when the deletion has finished.',
    'To bring the staging back, deploy the branch again.',
  ];
  return {
    event: 'deleting',
    stagingName: s.stagingName,
    subject: subject(`Deleting staging ${s.stagingName}`),
    message: lines.join('\n'),
  };
}

export function deletedNotice(config: SweeperConfig, c: CompletedDeletion): Notice {
  const lines = [
    `The feature staging "${c.stagingName}"${c.branch ? ` (branch ${c.branch})` : ''} has been deleted.`,
    '',
    `Deleted:       stack ${c.stackName} (${config.region}) and every resource in it`,
    `Stack id:      ${c.stackId}`,
    `URL (gone):    ${c.url ?? '(no URL output)'}`,
    ...retainedLines(c.retainedResources),
    '',
    'To bring the staging back, deploy the branch again.',
  ];
  return {
    event: 'deleted',
    stagingName: c.stagingName,
    subject: subject(`Deleted staging ${c.stagingName}`),
    message: lines.join('\n'),
  };
}

export function deleteFailedNotice(config: SweeperConfig, s: StagingReport): Notice {
  const failed = s.failedResources ?? [];
  const lines = [
    `Deleting the feature staging "${s.stagingName}" (branch ${s.branch}) failed: the stack ${s.stackName} is DELETE_FAILED.`,
    '',
    'Resources that could not be deleted:',
    ...(failed.length ? failed.map((r) => `- ${r.logicalId} (${r.type ?? '?'}, ${r.physicalId ?? 'no physical id'}): ${r.reason ?? 'no reason given'}`) : ['- (none listed)']),
    '',
    config.retainResourcesOnDeleteFailed
      ? 'The sweeper retries the deletion with these resources retained; they are then left behind and must be deleted by hand.'
      : `Fix the cause and delete the stack again (aws cloudformation delete-stack --region ${config.region} --stack-name ${s.stackName}), ` +
        'or deploy the sweeper with retainResourcesOnDeleteFailed to have it retry and leave these resources behind.',
  ];
  return {
    event: 'delete-failed',
    stagingName: s.stagingName,
    subject: subject(`Deleting staging ${s.stagingName} failed`),
    message: lines.join('\n'),
  };
}

function retainedLines(retained: ResourceInfo[] | undefined): string[] {
  if (!retained?.length) return [];
  return [
    '',
    'Left behind (RetainResources), delete these by hand:',
    ...retained.map((r) => `- ${r.logicalId} (${r.type ?? '?'}): ${r.physicalId ?? 'no physical id'}`),
  ];
}

/** SNS subjects: ASCII, no line breaks, at most 100 characters. */
function subject(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}
