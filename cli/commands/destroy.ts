/** `staging destroy <branch> [--yes]`: deletes a branch staging's stack and waits for it. */
import { DeleteStackCommand, waitUntilStackDeleteComplete } from '@aws-sdk/client-cloudformation';
import { SharedStagingNames } from '../../lib/contract/naming';
import { ClientFactory, GlobalOptions, regionOf } from '../aws';
import { CliError, Io, aws } from '../io';
import { writeJson } from '../render';
import { findStaging, listStagings } from '../stagings';

export interface DestroyOptions extends GlobalOptions {
  readonly yes?: boolean;
  /** Seconds between the waiter's checks (tests make it short). */
  readonly pollSeconds?: number;
}

export async function destroyCommand(branch: string, options: DestroyOptions, io: Io, factory: ClientFactory): Promise<void> {
  const sharedName = new SharedStagingNames(options.prefix).stackName;
  if (branch === sharedName || branch === 'shared') {
    throw new CliError(`${sharedName} is the shared stack every branch staging depends on; staging destroy never deletes it. Delete it with cdk destroy ${sharedName} if you really mean to.`);
  }
  const clients = factory(regionOf(options, io.env));
  const staging = findStaging(await listStagings(clients, options.prefix), branch, options.prefix);
  if (!options.yes) {
    const ok = await io.confirm(`Delete the staging of branch ${staging.branch} (stack ${staging.stackName} in ${clients.region}) and all its data? [y/N] `);
    if (!ok) throw new CliError(`Not deleted. Answer y on a terminal, or pass --yes to delete ${staging.stackName}.`);
  }
  await aws(`cloudformation:DeleteStack on ${staging.stackName}`, () =>
    clients.cloudformation.send(new DeleteStackCommand({ StackName: staging.stackId })));
  io.stderr.write(`deleting ${staging.stackName}; waiting for CloudFormation (a few minutes)...\n`);
  const delay = options.pollSeconds ?? 15;
  const result = await aws(`cloudformation:DescribeStacks on ${staging.stackName}`, () =>
    waitUntilStackDeleteComplete({ client: clients.cloudformation, maxWaitTime: 3600, minDelay: delay, maxDelay: Math.max(delay, 60) }, { StackName: staging.stackId })
      .catch((e: any) => {
        // The SDK's waiters throw an Error whose message is the JSON of {state, reason}.
        const state = /^\{"state":"([A-Z]+)"/.exec(String(e?.message))?.[1];
        if (!state && e?.name !== 'TimeoutError') throw e;
        const status = /"StackStatus":"([A-Z_]+)"/.exec(String(e.message))?.[1];
        throw new CliError(
          `${staging.stackName} did not finish deleting (${status ?? state ?? e.name}). See why in its events: aws cloudformation describe-stack-events --stack-name ${staging.stackId}` +
            ' (then delete what blocks it, and run staging destroy again).',
        );
      }));
  if (options.json) return writeJson(io, { branch: staging.branch, stackName: staging.stackName, deleted: true, state: result.state });
  io.stdout.write(`Deleted ${staging.stackName} (branch ${staging.branch}).\n`);
}
