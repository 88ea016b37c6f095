/**
 * `staging console <branch> [--service web]`: a shell in a running task of the branch (ECS Exec;
 * branch services have enableExecuteCommand). It finds a RUNNING task of the service by its task
 * definition family (`<stack name>-<service>`, lib/contract/naming.ts taskDefinitionFamily), calls
 * ExecuteCommand and hands the session to AWS's session-manager-plugin, with the arguments the
 * AWS CLI gives it (awscli/customizations/ecs/executecommand.py). Without the plugin it prints
 * the `aws ecs execute-command` command instead, and how to install the plugin.
 */
import { DescribeTasksCommand, ExecuteCommandCommand, Task, paginateListTasks } from '@aws-sdk/client-ecs';
import { taskDefinitionFamily } from '../../lib/contract/naming';
import { ClientFactory, Clients, GlobalOptions, regionOf } from '../aws';
import { CliError, Io, aws } from '../io';
import { quote, writeJson } from '../render';
import { findStaging, listStagings, sharedInfo } from '../stagings';
import { realSystem } from '../system';

export interface ConsoleOptions extends GlobalOptions {
  readonly service: string;
  readonly container: string;
  readonly command: string;
}

export const PLUGIN = 'session-manager-plugin';
const PLUGIN_INSTALL = 'https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html';

export async function consoleCommand(branch: string, options: ConsoleOptions, io: Io, factory: ClientFactory): Promise<void> {
  const system = io.system ?? realSystem;
  const clients = factory(regionOf(options, io.env));
  const [stagings, shared] = await Promise.all([listStagings(clients, options.prefix), sharedInfo(clients, options.prefix)]);
  const staging = findStaging(stagings, branch, options.prefix);
  if (!shared.clusterName) throw new CliError(`${shared.stackName} has no SharedStagingClusterName output. Deploy the shared stack again (npx cdk deploy ${shared.stackName}).`);
  const cluster = shared.clusterName;
  const family = taskDefinitionFamily(staging.stackName, options.service);
  const task = await runningTask(clients, cluster, family, options.container, () => `\`staging wake ${quote(staging.branch)}\` starts it if it is asleep; \`staging logs ${quote(staging.branch)} --service ${quote(options.service)}\` shows why a task stops.`);
  const taskId = String(task.taskArn).split('/').pop()!;
  const argv = ['aws', 'ecs', 'execute-command', '--region', clients.region, '--cluster', cluster, '--task', taskId, '--container', options.container, '--interactive', '--command', options.command];
  const commandLine = argv.map(quote).join(' ');
  const plugin = system.which(PLUGIN);
  if (options.json) {
    return writeJson(io, { branch: staging.branch, cluster, task: task.taskArn, container: options.container, command: argv, commandLine, plugin: plugin ?? null });
  }
  if (!plugin) {
    io.stdout.write(`${commandLine}\n`);
    io.stderr.write(`${PLUGIN} is not on PATH, so no shell was opened. Install it (${PLUGIN_INSTALL}), then run staging console again, or run the command above.\n`);
    return;
  }
  const runtimeId = task.containers?.find((c) => c.name === options.container)?.runtimeId;
  io.stderr.write(`opening ${options.command} in task ${taskId} (${options.service}, container ${options.container}) of ${staging.branch}; exit to leave\n`);
  const out = await aws(`ecs:ExecuteCommand on ${taskId}`, () =>
    clients.ecs.send(new ExecuteCommandCommand({ cluster, task: task.taskArn, container: options.container, command: options.command, interactive: true })));
  if (!out.session) throw new CliError(`ECS returned no session for task ${taskId}. Try again, or run: ${commandLine}`);
  const args = [
    JSON.stringify(out.session),
    clients.region,
    'StartSession',
    io.env.AWS_PROFILE ?? '',
    JSON.stringify({ Target: `ecs:${cluster}_${taskId}_${runtimeId}` }),
    ecsEndpoint(clients.region, io.env),
  ];
  const code = await system.spawn(plugin, args);
  if (code !== 0) throw new CliError(`${PLUGIN} ended with exit code ${code}. If the session did not open, check the task's ECS Exec setup: https://github.com/aws-containers/amazon-ecs-exec-checker`);
}

/** A RUNNING task of the family whose ECS Exec agent runs in `container`, or a CliError saying why there is none. */
async function runningTask(clients: Clients, cluster: string, family: string, container: string, hint: () => string): Promise<Task> {
  const arns: string[] = [];
  await aws(`ecs:ListTasks on ${cluster}`, async () => {
    for await (const page of paginateListTasks({ client: clients.ecs }, { cluster, family, desiredStatus: 'RUNNING' })) arns.push(...(page.taskArns ?? []));
  });
  if (arns.length === 0) throw new CliError(`No running task of ${family} on cluster ${cluster}. ${hint()}`);
  const out = await aws(`ecs:DescribeTasks on ${cluster}`, () => clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: arns.slice(0, 100) })));
  const tasks = (out.tasks ?? []).filter((t) => t.lastStatus === 'RUNNING');
  const agentRunning = (t: Task) =>
    t.enableExecuteCommand && t.containers?.find((c) => c.name === container)?.managedAgents?.some((a) => a.name === 'ExecuteCommandAgent' && a.lastStatus === 'RUNNING');
  const ready = tasks.find(agentRunning);
  if (ready) return ready;
  if (tasks.length === 0) throw new CliError(`No task of ${family} is RUNNING yet (${arns.length} starting). Wait a minute and run again. ${hint()}`);
  if (!tasks.some((t) => t.containers?.some((c) => c.name === container))) {
    throw new CliError(`The tasks of ${family} have no container ${JSON.stringify(container)} (they have ${[...new Set(tasks.flatMap((t) => t.containers ?? []).map((c) => c.name))].join(', ')}). Pass --container <name>.`);
  }
  throw new CliError(`The ECS Exec agent is not running in ${family}'s tasks yet (or they were started before ECS Exec was on). Wait a minute; if it stays so, redeploy the branch so new tasks start.`);
}

/** The ECS endpoint the plugin talks to, as the AWS CLI passes it. */
function ecsEndpoint(region: string, env: Record<string, string | undefined>): string {
  return env.AWS_ENDPOINT_URL_ECS ?? env.AWS_ENDPOINT_URL ?? `https://ecs.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}
