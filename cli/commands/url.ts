/** `staging url <branch>` */
import { ClientFactory, GlobalOptions, regionOf } from '../aws';
import { CliError, Io } from '../io';
import { colors, writeJson } from '../render';
import { findStaging, listStagings } from '../stagings';

export async function urlCommand(branch: string, options: GlobalOptions, io: Io, factory: ClientFactory): Promise<void> {
  const clients = factory(regionOf(options, io.env));
  const staging = findStaging(await listStagings(clients, options.prefix), branch, options.prefix);
  if (!staging.url) throw new CliError(`${staging.stackName} has no StagingUrl output yet (status ${staging.status}). Wait for its deploy to finish, then run again.`);
  if (options.json) return writeJson(io, { branch: staging.branch, name: staging.name, url: staging.url });
  if (!io.isTTY) {
    io.stdout.write(`${staging.url}\n`);
    return;
  }
  io.stdout.write(`${colors(io).bold(staging.branch)}  ${staging.url}\n`);
}
