/** The `staging` command line: commander wiring, exit codes and error reporting. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { StagingNames } from '../lib/contract/naming';
import { ClientFactory, GlobalOptions, defaultClients } from './aws';
import { consoleCommand } from './commands/console';
import { costCommand } from './commands/cost';
import { destroyCommand } from './commands/destroy';
import { doctorCommand } from './commands/doctor';
import { keepCommand, unkeepCommand } from './commands/keep';
import { listCommand } from './commands/list';
import { logsCommand } from './commands/logs';
import { sweepCommand } from './commands/sweep';
import { urlCommand } from './commands/url';
import { sleepCommand, wakeCommand } from './commands/wake';
import { CliError, Io, oneLine } from './io';

declare const STAGING_CLI_VERSION: string | undefined;

/** The package's version: written into the bundle by scripts/build-cli.mjs; read from package.json when run from source. */
export const VERSION: string =
  typeof STAGING_CLI_VERSION === 'string' ? STAGING_CLI_VERSION : JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version;

/** `--prefix`: the rule the app and the constructs apply (StagingNames.validatePrefix), checked before any AWS call. */
function prefixArgument(value: string): string {
  const problems = StagingNames.validatePrefix(value);
  if (problems.length > 0) throw new InvalidArgumentError(problems.join('; '));
  return value;
}

type Action = (io: Io, clients: ClientFactory, global: GlobalOptions, args: any[]) => Promise<void>;

function buildProgram(io: Io, clients: ClientFactory): Command {
  const program = new Command('staging')
    .description('See, wake, sleep, inspect, keep, sweep, price and destroy the branch stagings of cdk-multi-staging.')
    .version(VERSION, '-V, --version', 'print the version of cdk-multi-staging')
    .addOption(new Option('--prefix <prefix>', 'the staging system\'s stack-name prefix').default('staging').argParser(prefixArgument))
    .option('--region <region>', 'AWS region (default: AWS_REGION)')
    .option('--json', 'print JSON instead of tables')
    .option('--debug', 'print the stack trace of an unexpected error (also CDK_DEBUG=true)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: (s, write) => write(s) })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExamples:\n  npx staging list --region eu-west-1\n  npx staging cost cdk.out\n  npx staging <command> --help\n');

  const command = (name: string, description: string, example: string, action: Action) => {
    const cmd = program.command(name).description(description).addHelpText('after', `\nExample:\n  ${example}\n`);
    cmd.action(async (...args: any[]) => {
      const global = program.opts() as GlobalOptions;
      const local = args[args.length - 2] as Record<string, unknown>;
      await action(io, clients, { ...global, ...local } as GlobalOptions, args.slice(0, -2));
    });
    return cmd;
  };

  command('list', 'every branch staging: URL, state, age, pin, sweeper plan and cost per day', 'npx staging list --region eu-west-1',
    (i, c, o) => listCommand(o, i, c));
  command('url <branch>', 'the URL of a branch staging (the URL only when piped)', 'open "$(npx staging url feature/login)"',
    (i, c, o, [branch]) => urlCommand(branch, o, i, c));
  command('keep <branch>', 'pin a branch staging so the sweeper keeps it', 'npx staging keep feature/login --for 7d',
    (i, c, o, [branch]) => keepCommand(branch, o as any, i, c))
    .option('--until <date>', 'keep it until the end of this UTC day (YYYY-MM-DD)')
    .option('--for <duration>', 'keep it for this long from now: 12h, 7d, 2w', '7d');
  command('unkeep <branch>', 'remove the pin of a branch staging', 'npx staging unkeep feature/login',
    (i, c, o, [branch]) => unkeepCommand(branch, o, i, c));
  command('wake <branch>', 'wake a sleeping branch staging now, and wait until its URL answers (progress on stderr)', 'open "$(npx staging wake feature/login)"',
    (i, c, o, [branch]) => wakeCommand(branch, o as any, i, c))
    .option('--no-wait', 'return once the wake has started')
    .option('--timeout <minutes>', 'wait at most this long', '15')
    .addOption(new Option('--poll-seconds <seconds>').hideHelp());
  command('sleep <branch>', 'put a branch staging to sleep now (services at 0; a visit or `staging wake` wakes it)', 'npx staging sleep feature/login',
    (i, c, o, [branch]) => sleepCommand(branch, o, i, c));
  command('logs <branch>', 'the logs of a branch staging\'s services, from CloudWatch Logs, prefixed with service and time', 'npx staging logs feature/login --service web --since 30m --follow',
    (i, c, o, [branch]) => logsCommand(branch, o as any, i, c))
    .option('--service <name>', 'only this service (web, a worker, a job, release)')
    .option('--since <when>', 'from this long ago (15m, 1h, 2d) or this ISO time', '1h')
    .option('--follow', 'then print new lines as they come (CloudWatch Live Tail), until Ctrl-C');
  command('console <branch>', 'a shell in a running task of a branch staging (ECS Exec, through session-manager-plugin)', 'npx staging console feature/login --service worker',
    (i, c, o, [branch]) => consoleCommand(branch, o as any, i, c))
    .option('--service <name>', 'the service whose task to open', 'web')
    .option('--container <name>', 'the container in the task', 'app')
    .option('--command <command>', 'what to run in it', '/bin/sh');
  command('sweep', 'run the sweeper: --dry-run (the default) prints what it would warn, delete or keep, and why', 'npx staging sweep\n  npx staging sweep --no-dry-run --yes',
    (i, c, o) => sweepCommand(o as any, i, c))
    .option('--dry-run', 'only report', true)
    .option('--no-dry-run', 'really warn and delete (needs --yes)')
    .option('--yes', 'confirm a real run');
  command('cost [target]', 'cost per day and month, awake and asleep, of a branch, a template or a cdk.out directory (offline)', 'npx cdk synth -c branch=feature/login && npx staging cost cdk.out --shared shared.cdk.out',
    (i, c, o, [target]) => costCommand(target, o, i, c))
    .option('--shared <template>', 'the shared stack\'s template or cdk.out (offline), for its share per branch')
    .option('--branches <n>', 'branches sharing the shared stack (default: the deployed count, or 10 offline)')
    .option('--database-storage-gib <gib>', 'storage of a restored branch database (default: the shared database\'s, or 20)')
    .option('--log-gb-per-day <gb>', 'GB written per day to each log group', '0.01')
    .option('--job-minutes <minutes>', 'minutes each scheduled job run lasts', '5')
    .option('--page-views-per-day <views>', 'views of the stagings page a day (1 s each)', '200');
  command('destroy <branch>', 'delete a branch staging\'s stack after a confirmation naming it, and wait', 'npx staging destroy feature/login',
    (i, c, o, [branch]) => destroyCommand(branch, o as any, i, c))
    .addOption(new Option('--yes', 'skip the confirmation'));
  command('doctor', 'a read-only preflight of the account and region: bootstrap, credentials, hosted zone, service-linked roles, quotas, shared stack, tools', 'npx staging doctor --region eu-west-1 --domain staging.example.com --hosted-zone-id Z0123456789ABCDEFGHIJ',
    (i, c, o) => doctorCommand(o as any, i, c))
    .option('--domain <name>', 'the staging domain, before the shared stack records it (default: the shared stack\'s)')
    .option('--hosted-zone-id <id>', 'its Route 53 hosted zone, before the shared stack records it (default: the shared stack\'s)')
    .option('--qualifier <qualifier>', 'the CDK bootstrap qualifier (default: hnb659fds)')
    .option('--toolkit-stack-name <name>', 'the CDK bootstrap stack (default: CDKToolkit)');
  return program;
}

/** Runs the CLI; resolves to the exit code (0 ok, 1 error, 2 usage error). */
export async function run(argv: string[], io: Io, clients: ClientFactory = defaultClients): Promise<number> {
  const program = buildProgram(io, clients);
  try {
    // A bare `staging` gets the help on stderr and exit 1, as commander does for a missing command.
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      if (e.code === 'commander.help') return 1;
      return 2;
    }
    if (e instanceof CliError) {
      io.stderr.write(`staging: ${e.message}\n`);
      return e.exitCode;
    }
    // An error the CLI does not explain: one line, the stack only when asked for.
    const debug = program.opts().debug === true || io.env.CDK_DEBUG === 'true';
    io.stderr.write(`staging: ${unexpected(e)}${debug ? '' : ' (run again with --debug for the stack trace)'}\n`);
    if (debug) io.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

/** An unexplained error on one line: its name, its message, and the AWS request id when there is one. */
export function unexpected(e: unknown): string {
  const error = e as { name?: string; message?: string; $metadata?: { requestId?: string } } | undefined;
  const name = error?.name && error.name !== 'Error' ? `${error.name}: ` : '';
  const requestId = error?.$metadata?.requestId ? ` (AWS request id ${error.$metadata.requestId})` : '';
  return `${name}${oneLine(String(error?.message ?? e))}${requestId}`;
}
