/**
 * `staging wake <branch>` and `staging sleep <branch>`: the sleep-on-idle states, on demand. Both
 * invoke the shared stack's sleeper function ({"wake": name} / {"sleep": name}, lambda/waker);
 * `wake` then waits until the state is awake and the URL answers.
 */
import { WaiterState, createWaiter, type WaiterResult } from '@smithy/util-waiter';
import { BranchStatePaths, SleepStates, SleepStateValue, parseSleepState, parseTimestamp } from '../../lib/contract/branch-state';
import { SleeperEventKeys, type ManualSleepResult } from '../../lib/contract/sleeper';
import { ClientFactory, Clients, GlobalOptions, invokeJson, regionOf } from '../aws';
import { CliError, Io, UsageError } from '../io';
import { duration, quote, writeJson } from '../render';
import { SharedInfo, Staging, findStaging, listStagings, parameterIfAny, sharedInfo } from '../stagings';
import { realSystem } from '../system';
import { DEFAULT_AUTOMATION_HEADER } from '../../lib/contract/access';

/**
 * The automation token of a locked staging (README, "Access"), from the environment: with it the
 * URL check reaches the app itself; without it, a locked URL answers with the sign-in redirect.
 */
export function automationHeaders(env: Record<string, string | undefined>): Record<string, string> {
  const token = env.STAGING_AUTOMATION_TOKEN;
  return token ? { [(env.STAGING_AUTOMATION_HEADER || DEFAULT_AUTOMATION_HEADER).toLowerCase()]: token } : {};
}

export interface WakeOptions extends GlobalOptions {
  /** False with --no-wait: return once the wake has started. */
  readonly wait?: boolean;
  /** Minutes to wait at most (default 15). */
  readonly timeout?: string;
  /** Seconds between checks (a hidden option; tests make it short). */
  readonly pollSeconds?: string;
}

async function sleeperOf(options: GlobalOptions, io: Io, factory: ClientFactory, branch: string): Promise<{ clients: Clients; staging: Staging; shared: SharedInfo; fn: string }> {
  const clients = factory(regionOf(options, io.env));
  const [stagings, shared] = await Promise.all([listStagings(clients, options.prefix), sharedInfo(clients, options.prefix)]);
  const staging = findStaging(stagings, branch, options.prefix);
  if (!shared.sleeperFunctionName) {
    throw new CliError(`${shared.stackName} has no SleeperFunctionName output: it was deployed by an older cdk-multi-staging. Deploy the shared stack again (npx cdk deploy ${shared.stackName}), then run this again.`);
  }
  return { clients, staging, shared, fn: shared.sleeperFunctionName };
}

export async function sleepCommand(branch: string, options: GlobalOptions, io: Io, factory: ClientFactory): Promise<void> {
  const { clients, staging, fn } = await sleeperOf(options, io, factory, branch);
  io.stderr.write(`putting ${staging.branch} (${staging.stackName}) to sleep via ${fn}...\n`);
  const result = await invokeJson<ManualSleepResult>(clients, fn, { [SleeperEventKeys.SLEEP]: staging.name }, 'sleeper');
  if (options.json) return writeJson(io, { ...result, url: staging.url });
  const how = `A visit to ${staging.url ?? 'its URL'} or \`staging wake ${quote(staging.branch)}\` wakes it.`;
  io.stdout.write(result.changed ? `${staging.branch} is asleep: its services are at 0 and its URL shows the waking page. ${how}\n` : `${staging.branch} was ${result.reason}. ${how}\n`);
}

export async function wakeCommand(branch: string, options: WakeOptions, io: Io, factory: ClientFactory): Promise<void> {
  const timeoutMinutes = Number(options.timeout ?? 15);
  if (!Number.isFinite(timeoutMinutes) || timeoutMinutes <= 0) throw new UsageError(`--timeout must be a number of minutes above 0 (got ${JSON.stringify(options.timeout)}), e.g. --timeout 20`);
  const { clients, staging, shared, fn } = await sleeperOf(options, io, factory, branch);
  const started = io.now().getTime();
  io.stderr.write(`waking ${staging.branch} (${staging.stackName}) via ${fn}...\n`);
  const result = await invokeJson<ManualSleepResult>(clients, fn, { [SleeperEventKeys.WAKE]: staging.name }, 'sleeper');
  const done = (state: string, seconds?: number) => {
    if (options.json) return writeJson(io, { branch: staging.branch, name: staging.name, url: staging.url, state, changed: result.changed, seconds });
    if (!io.isTTY && staging.url && state === SleepStates.AWAKE) return void io.stdout.write(`${staging.url}\n`);
    io.stdout.write(state === SleepStates.AWAKE
      ? `${staging.branch} is awake${seconds !== undefined && result.changed ? ` (${duration(seconds * 1000)})` : ''}: ${staging.url ?? '(no URL output yet)'}\n`
      : `${staging.branch} is ${state}; it goes on by itself. \`staging wake ${quote(staging.branch)}\` waits for it.\n`);
  };
  if (options.wait === false) return done(result.state);
  if (result.expectedSeconds && result.state !== SleepStates.AWAKE) {
    io.stderr.write(`${result.reason}: usually about ${duration(result.expectedSeconds * 1000)}${result.expectedSeconds > 300 ? ' (its database starts first)' : ''}; waiting up to ${timeoutMinutes} min\n`);
  }
  const poll = Number(options.pollSeconds ?? 5);
  const outcome = await waitUntilAwake(clients, io, { fn, staging, parameter: new BranchStatePaths(shared.parameterPrefix).sleepStates.of(staging.name), poll, timeoutMinutes, started });
  if (outcome.state !== WaiterState.SUCCESS) {
    const last = outcome.reason ? ` (last seen: ${outcome.reason})` : '';
    if (outcome.state === WaiterState.FAILURE) {
      throw new CliError(`${staging.branch} went back to sleep before it answered${last}: the wake found no healthy web task in 30 minutes. See why with \`staging logs ${quote(staging.branch)} --since 1h\`, then wake it again.`);
    }
    throw new CliError(`${staging.branch} is not awake after ${timeoutMinutes} min${last}. The wake goes on by itself; see \`staging list\`, or why with \`staging logs ${quote(staging.branch)}\`.`);
  }
  done(SleepStates.AWAKE, Math.round((io.now().getTime() - started) / 1000));
}

/**
 * Polls the branch's sleep state and its URL with the SDK's waiter machinery (createWaiter:
 * backoff with jitter, a deadline). While the state is waking, each check invokes the sleeper's
 * wake again, which moves the wake on as a browser's refresh would: behind a sign-in the CLI's GET
 * never reaches the waker. Done when the state is awake and the URL answers with anything but a
 * 5xx (with STAGING_AUTOMATION_TOKEN the GET passes the lock and reaches the app); failed when
 * the state falls back to sleeping (the wake gave up).
 */
async function waitUntilAwake(
  clients: Clients,
  io: Io,
  w: { fn: string; staging: Staging; parameter: string; poll: number; timeoutMinutes: number; started: number },
): Promise<WaiterResult> {
  const system = io.system ?? realSystem;
  let last: string | undefined;
  const check = async (): Promise<WaiterResult> => {
    let answer = 'no URL';
    let status: number | undefined;
    if (w.staging.url) {
      try {
        status = await system.httpStatus(w.staging.url, automationHeaders(io.env));
        answer = `${w.staging.url} answers ${status}`;
      } catch (e: any) {
        answer = `${w.staging.url} does not answer (${e?.cause?.code ?? e?.name ?? e})`;
      }
    }
    const state = await readState(clients, w.parameter);
    const reason = `${state?.state ?? 'no state'}, ${answer}`;
    last = reason;
    io.stderr.write(`  ${duration(io.now().getTime() - w.started)}: ${reason}\n`);
    // Sleeping again since after this wake began: the wake gave up (an older sleeping state is a wake not yet written).
    if (state?.state === SleepStates.SLEEPING && parseTimestamp(state.since)! > w.started) return { state: WaiterState.FAILURE, reason };
    if (state?.state === SleepStates.WAKING) await invokeJson<ManualSleepResult>(clients, w.fn, { [SleeperEventKeys.WAKE]: w.staging.name }, 'sleeper');
    const answers = !w.staging.url || (status !== undefined && status < 500);
    return { state: state?.state === SleepStates.AWAKE && answers ? WaiterState.SUCCESS : WaiterState.RETRY, reason };
  };
  const result = await createWaiter(
    { client: clients.ssm, maxWaitTime: w.timeoutMinutes * 60, minDelay: w.poll, maxDelay: Math.max(w.poll, 15) },
    {},
    check,
  );
  // A timeout carries no reason of its own: the last check's is what the user needs.
  return { ...result, reason: result.reason ?? last };
}

async function readState(clients: Clients, name: string): Promise<SleepStateValue | undefined> {
  const parameter = await parameterIfAny(clients, name);
  return parameter && parseSleepState(parameter.value);
}
