/** `staging keep <branch> [--until DATE | --for 7d]` and `staging unkeep <branch>`: the sweeper's pins. */
import { DeleteParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { BranchStatePaths, formatPin, parsePin } from '../../lib/contract/branch-state';
import { ClientFactory, GlobalOptions, regionOf } from '../aws';
import { Io, UsageError, aws } from '../io';
import { quote, writeJson } from '../render';
import { findStaging, listStagings, sharedInfo } from '../stagings';

export interface KeepOptions extends GlobalOptions {
  readonly until?: string;
  readonly for?: string;
}

const UNITS: Record<string, number> = { h: 3600_000, d: 86400_000, w: 7 * 86400_000 };

/**
 * The pin's value from --until or --for: `YYYY-MM-DD`, kept until the end of that UTC day
 * (lib/contract/branch-state.ts formatPin), and only a value that parsePin reads as active.
 */
export function pinDate(options: { until?: string; for?: string }, now: Date): string {
  if (options.until !== undefined) {
    const pin = parsePin(options.until, now.getTime());
    if (pin.kind === 'malformed' || options.until.trim() !== options.until) {
      throw new UsageError(`--until must be a date YYYY-MM-DD (got ${JSON.stringify(options.until)}), e.g. --until ${formatPin(now.getTime())}`);
    }
    if (pin.kind === 'expired') throw new UsageError(`--until ${options.until} is in the past; pass today or a later day`);
    return formatPin(pin.until - 1);
  }
  const m = /^(\d+)\s*([hdw])$/.exec(options.for ?? '7d');
  if (!m || Number(m[1]) < 1) throw new UsageError(`--for must be a duration like 12h, 7d or 2w (got ${JSON.stringify(options.for)})`);
  return formatPin(now.getTime() + Number(m[1]) * UNITS[m[2]]);
}

export async function keepCommand(branch: string, options: KeepOptions, io: Io, factory: ClientFactory): Promise<void> {
  const date = pinDate(options, io.now());
  const clients = factory(regionOf(options, io.env));
  const [stagings, shared] = await Promise.all([listStagings(clients, options.prefix), sharedInfo(clients, options.prefix)]);
  const staging = findStaging(stagings, branch, options.prefix);
  const name = new BranchStatePaths(shared.parameterPrefix).pins.of(staging.name);
  await aws(`ssm:PutParameter on ${name}`, () =>
    clients.ssm.send(new PutParameterCommand({ Name: name, Value: date, Type: 'String', Overwrite: true })));
  if (options.json) return writeJson(io, { branch: staging.branch, name: staging.name, parameter: name, pinnedUntil: date });
  io.stdout.write(`${staging.branch} is kept until the end of ${date} (UTC). Undo with: staging unkeep ${quote(staging.branch)}\n`);
}

export async function unkeepCommand(branch: string, options: GlobalOptions, io: Io, factory: ClientFactory): Promise<void> {
  const clients = factory(regionOf(options, io.env));
  const [stagings, shared] = await Promise.all([listStagings(clients, options.prefix), sharedInfo(clients, options.prefix)]);
  const staging = findStaging(stagings, branch, options.prefix);
  const name = new BranchStatePaths(shared.parameterPrefix).pins.of(staging.name);
  const removed = await aws(`ssm:DeleteParameter on ${name}`, async () => {
    try {
      await clients.ssm.send(new DeleteParameterCommand({ Name: name }));
      return true;
    } catch (e: any) {
      if (e?.name === 'ParameterNotFound') return false;
      throw e;
    }
  });
  if (options.json) return writeJson(io, { branch: staging.branch, name: staging.name, parameter: name, removed });
  io.stdout.write(removed ? `${staging.branch} is no longer pinned; the sweeper judges it by its activity again.\n` : `${staging.branch} was not pinned.\n`);
}
