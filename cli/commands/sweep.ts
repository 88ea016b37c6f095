/** `staging sweep [--dry-run | --no-dry-run --yes]`: invokes the sweeper function and prints its report. */
import type { SweepReportView } from '../../lib/contract/stagings-view';
import { ClientFactory, Clients, GlobalOptions, invokeJson, regionOf } from '../aws';
import { CliError, Io, UsageError } from '../io';
import { table, writeJson } from '../render';
import { sharedInfo } from '../stagings';

export interface SweepOptions extends GlobalOptions {
  readonly dryRun: boolean;
  readonly yes?: boolean;
}

export type { SweepReportView } from '../../lib/contract/stagings-view';

/** Invokes the sweeper; a dry run changes nothing. */
export async function invokeSweeper(clients: Clients, functionName: string, dryRun: boolean): Promise<SweepReportView> {
  return invokeJson<SweepReportView>(clients, functionName, { dryRun }, 'sweeper');
}

export async function sweepCommand(options: SweepOptions, io: Io, factory: ClientFactory): Promise<void> {
  if (!options.dryRun && !options.yes) throw new UsageError('A real sweep warns and deletes stagings: pass --yes with --no-dry-run, or run `staging sweep` for a dry run.');
  const clients = factory(regionOf(options, io.env));
  const shared = await sharedInfo(clients, options.prefix);
  if (!shared.sweeperFunctionName) throw new CliError(`${shared.stackName} has no SweeperFunctionName output: the sweeper is not deployed with it. Deploy StagingSweeper (docs/sweeper.md).`);
  io.stderr.write(`invoking ${shared.sweeperFunctionName} (${options.dryRun ? 'dry run: nothing changes' : 'real run'})\n`);
  const report = await invokeSweeper(clients, shared.sweeperFunctionName, options.dryRun);
  if (options.json) return writeJson(io, report);
  io.stdout.write(renderReport(io, report));
}

export function renderReport(io: Io, report: SweepReportView): string {
  const rows = report.stagings.map((s) => [s.branch, s.action, s.outcome ?? '', s.deleteAt ?? '', s.reason]);
  let text = report.stagings.length === 0 ? 'No branch stagings to sweep.\n' : table(io, ['branch', 'action', 'outcome', 'delete at', 'why'], rows);
  for (const i of report.ignored ?? []) text += `ignored ${i.stackName}: ${i.reason}\n`;
  for (const p of report.problems ?? []) text += `problem: ${p}\n`;
  if (report.dryRun) text += 'Dry run: nothing was changed. `staging sweep --no-dry-run --yes` acts on it.\n';
  return text;
}
