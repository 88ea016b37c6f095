/**
 * Release task: runs the app image once with a command (e.g. `bin/rails db:migrate`) as a Fargate
 * task before the web service rolls, and fails the deployment with the task's last log lines when
 * the command fails.
 *
 * - onEvent Create/Update: start the task (or adopt the identical one a replay already started)
 *   and return Data { TaskArn }. The PhysicalResourceId `release:<StagingName>` never changes, so
 *   CloudFormation never sends a replacement Delete.
 * - isComplete: wait for the task to stop; exit code 0 succeeds, anything else throws with the
 *   exit code, ECS's stop reasons and the last log lines.
 * - Delete: migrations are not undone. A task this resource started that is still running is
 *   stopped (best effort). Delete always succeeds.
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeTasksCommand,
  ECSClient,
  RunTaskCommand,
  RunTaskCommandInput,
  StopTaskCommand,
  Task,
  paginateListTasks,
} from '@aws-sdk/client-ecs';
import { isAwsError, log, logError, type IsCompleteRequest, type IsCompleteResponse, type OnEventRequest, type OnEventResponse } from '../shared/provider';
import { describeError } from '../shared/errors';
import { entry } from '../shared/entry';
import { cleanLogText, failureMessage } from './message';
import { ReleaseTaskProperties, parseProperties } from '../../lib/contract/providers/release-task';
import { startedByFor, taskDefinitionFamily, taskIdOf } from './task';

export const ecs = new ECSClient({ maxAttempts: 8, retryMode: 'adaptive' });
export const logs = new CloudWatchLogsClient({ maxAttempts: 8, retryMode: 'adaptive' });

/** How many of the newest log events a failure message shows. */
export const LOG_LINES = 30;
const DESCRIBE_TASKS_MAX = 100;

/**
 * An Error whose stack is a single line. The Lambda runtime reports `stack.split('\n')` as the
 * trace and the Provider framework appends `trace.slice(1)` to the message it sends to
 * CloudFormation: with a normal stack a multi-line message would appear twice and overflow the
 * status reason. Our messages say everything; a stack trace adds nothing.
 */
function fail(message: string): Error {
  const error = new Error(message);
  error.name = 'ReleaseTaskError';
  error.stack = `${error.name} (details in the message)`;
  return error;
}

export function physicalResourceIdFor(stagingName: string): string {
  return `release:${stagingName}`;
}

// ---------------------------------------------------------------------------------------------
// onEvent

async function handleEvent(event: OnEventRequest): Promise<OnEventResponse> {
  if (event.RequestType === 'Delete') return onDelete(event);

  const p = parseProperties(event.ResourceProperties ?? {});
  const physicalResourceId =
    event.RequestType === 'Update' && event.PhysicalResourceId
      ? event.PhysicalResourceId
      : physicalResourceIdFor(p.stagingName);
  const startedBy = startedByFor(p.stagingName);
  log('release task requested', {
    requestType: event.RequestType,
    requestId: event.RequestId,
    stagingName: p.stagingName,
    cluster: p.clusterArn,
    taskDefinition: p.taskDefinitionArn,
    container: p.containerName,
    command: p.command,
    startedBy,
    timeoutSeconds: p.timeoutSeconds,
  });

  // A replay of this request (the framework or CloudFormation re-sending it) must not start a
  // second run: adopt a task of ours that is still pending/running with the same task definition
  // and command. RunTask's clientToken covers replays after that task has already stopped.
  let active: Task[];
  try {
    active = await activeTasks(p.clusterArn, startedBy, taskDefinitionFamily(p.taskDefinitionArn));
  } catch (e) {
    throw fail(
      `Could not check for a release task already running for staging '${p.stagingName}' in cluster ` +
        `${p.clusterArn} (${describeError(e)}). Check the handler's ecs:ListTasks/ecs:DescribeTasks ` +
        'permissions, then deploy again.',
    );
  }
  const same = active.find((t) => sameRun(t, p));
  if (same?.taskArn) {
    log('adopting the release task already running for this request', {
      taskArn: same.taskArn,
      lastStatus: same.lastStatus,
    });
    return { PhysicalResourceId: physicalResourceId, Data: { TaskArn: same.taskArn } };
  }
  if (active.length > 0) {
    // Another run of this staging (an older image or command, e.g. from a timed-out deployment)
    // is still going. We do not stop it: it may belong to a sibling resource, and killing a
    // migration midway is worse than waiting on its lock. Say so in case the new run waits.
    log('another release task of this staging is still running; starting this one anyway', {
      running: active.map((t) => ({ taskArn: t.taskArn, taskDefinition: t.taskDefinitionArn })),
    });
  }

  const taskArn = await runTask(p, startedBy, event.RequestId);
  log('release task started', { taskArn, stagingName: p.stagingName });
  return { PhysicalResourceId: physicalResourceId, Data: { TaskArn: taskArn } };
}
export const onEvent = entry('release-task.onEvent', handleEvent);

async function runTask(p: ReleaseTaskProperties, startedBy: string, requestId: string): Promise<string> {
  const input: RunTaskCommandInput = {
    cluster: p.clusterArn,
    taskDefinition: p.taskDefinitionArn,
    count: 1,
    startedBy,
    // Same CloudFormation request => same token => ECS returns the original task (24h TTL).
    clientToken: requestId.replace(/[^\x21-\x7e]/g, '').slice(0, 64) || undefined,
    enableExecuteCommand: false,
    propagateTags: 'TASK_DEFINITION',
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: p.subnets,
        securityGroups: p.securityGroups,
        assignPublicIp: p.assignPublicIp,
      },
    },
    overrides: { containerOverrides: [{ name: p.containerName, command: p.command }] },
    ...(p.capacityProviderStrategy.length > 0
      ? { capacityProviderStrategy: p.capacityProviderStrategy }
      : { launchType: 'FARGATE' }),
  };
  let result;
  try {
    result = await ecs.send(new RunTaskCommand(input));
  } catch (e) {
    throw fail(
      `Could not start the release task for staging '${p.stagingName}' (task definition ` +
        `${p.taskDefinitionArn}, cluster ${p.clusterArn}): ${describeError(e)}. Check the container ` +
        "name, subnets and security groups, and the handler's ecs:RunTask and iam:PassRole permissions.",
    );
  }
  const failures = result.failures ?? [];
  const taskArn = result.tasks?.[0]?.taskArn;
  if (failures.length > 0 || !taskArn) {
    const details = failures
      .map((f) => [f.arn, f.reason, f.detail].filter(Boolean).join(' '))
      .join('; ');
    throw fail(
      `ECS did not start the release task for staging '${p.stagingName}' (task definition ` +
        `${p.taskDefinitionArn}): ${details || 'RunTask returned no task'}. This is usually capacity ` +
        '(Fargate or the capacity provider) or a subnet without free IP addresses; deploy again later ' +
        'or change CapacityProviderStrategy.',
    );
  }
  return taskArn;
}

/** Identical run: same task definition revision and the same command override. */
function sameRun(task: Task, p: ReleaseTaskProperties): boolean {
  if (task.taskDefinitionArn !== p.taskDefinitionArn) return false;
  const override = task.overrides?.containerOverrides?.find((o) => o.name === p.containerName);
  return JSON.stringify(override?.command ?? []) === JSON.stringify(p.command);
}

/**
 * Tasks started by this resource (startedBy) and of its task definition family that are not
 * stopped. ListTasks' default desiredStatus RUNNING includes PENDING and PROVISIONING tasks.
 */
async function activeTasks(cluster: string, startedBy: string, family: string): Promise<Task[]> {
  const arns: string[] = [];
  // startedBy must be the only filter ListTasks gets.
  for await (const page of paginateListTasks({ client: ecs }, { cluster, startedBy })) arns.push(...(page.taskArns ?? []));

  const tasks: Task[] = [];
  for (let i = 0; i < arns.length; i += DESCRIBE_TASKS_MAX) {
    const page = await ecs.send(
      new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + DESCRIBE_TASKS_MAX) }),
    );
    tasks.push(...(page.tasks ?? []));
  }
  return tasks.filter(
    (t) =>
      t.lastStatus !== 'STOPPED' &&
      t.desiredStatus !== 'STOPPED' &&
      t.taskDefinitionArn !== undefined &&
      taskDefinitionFamily(t.taskDefinitionArn) === family,
  );
}

async function onDelete(event: OnEventRequest): Promise<OnEventResponse> {
  const props = (event.ResourceProperties ?? {}) as Record<string, unknown>;
  const response = { PhysicalResourceId: event.PhysicalResourceId };
  const cluster = typeof props.ClusterArn === 'string' ? props.ClusterArn : '';
  const stagingName = typeof props.StagingName === 'string' ? props.StagingName : '';
  const taskDefinition = typeof props.TaskDefinitionArn === 'string' ? props.TaskDefinitionArn : '';
  if (!cluster || !stagingName || !taskDefinition) {
    log('delete: nothing to stop (properties incomplete)', { physicalResourceId: event.PhysicalResourceId });
    return response;
  }
  try {
    const startedBy = startedByFor(stagingName);
    const running = await activeTasks(cluster, startedBy, taskDefinitionFamily(taskDefinition));
    for (const task of running) {
      if (!task.taskArn) continue;
      try {
        await ecs.send(
          new StopTaskCommand({
            cluster,
            task: task.taskArn,
            reason: `Release task resource of staging ${stagingName} deleted`.slice(0, 255),
          }),
        );
        log('delete: stopped running release task', { taskArn: task.taskArn });
      } catch (e) {
        if (isAwsError(e, 'InvalidParameterException', 'ClusterNotFoundException', 'ResourceNotFoundException')) {
          log('delete: release task already gone', { taskArn: task.taskArn, error: describeError(e) });
        } else {
          logError('delete: could not stop release task (ignored)', {
            taskArn: task.taskArn,
            error: describeError(e),
          });
        }
      }
    }
    if (running.length === 0) log('delete: no running release task; nothing to undo', { startedBy });
  } catch (e) {
    if (isAwsError(e, 'ClusterNotFoundException')) {
      log('delete: cluster is gone; nothing to stop', { cluster });
    } else {
      logError('delete: could not look for running release tasks (ignored)', { error: describeError(e) });
    }
  }
  return response;
}

// ---------------------------------------------------------------------------------------------
// isComplete

async function checkComplete(event: IsCompleteRequest): Promise<IsCompleteResponse> {
  if (event.RequestType === 'Delete') return { IsComplete: true };

  const p = parseProperties(event.ResourceProperties ?? {});
  const taskArn = event.Data?.TaskArn;
  if (typeof taskArn !== 'string' || taskArn === '') {
    throw fail(
      `Release task for staging '${p.stagingName}': isComplete got no TaskArn from onEvent. ` +
        'This is a bug in the release-task handler; deploy again.',
    );
  }

  let described;
  try {
    described = await ecs.send(new DescribeTasksCommand({ cluster: p.clusterArn, tasks: [taskArn] }));
  } catch (e) {
    throw fail(
      `Could not read the state of release task ${taskArn} of staging '${p.stagingName}': ` +
        `${describeError(e)}. The task may still be running; check it in the ECS console, then deploy again.`,
    );
  }
  const task = described.tasks?.find((t) => t.taskArn === taskArn);
  if (!task) {
    // Right after RunTask, ECS's eventually consistent reads may not show the task yet.
    log('release task not visible yet', { taskArn, failures: described.failures });
    return { IsComplete: false };
  }
  const container = task.containers?.find((c) => c.name === p.containerName);
  const exitCode = container?.exitCode;
  if (exitCode === 0) {
    // The command is done once its container exited 0: the task's own STOPPED comes 10-30 s later,
    // after Fargate releases its network interface, and the services need not wait for that.
    log('release task succeeded', { taskArn, stagingName: p.stagingName, lastStatus: task.lastStatus });
    return { IsComplete: true, Data: { TaskArn: taskArn, ExitCode: '0' } };
  }
  if (task.lastStatus !== 'STOPPED') {
    log('release task still running', {
      taskArn,
      lastStatus: task.lastStatus,
      runningForSeconds: task.createdAt ? Math.round((Date.now() - task.createdAt.getTime()) / 1000) : undefined,
      timeoutSeconds: p.timeoutSeconds,
    });
    return { IsComplete: false };
  }

  const logStreamName = `${p.logStreamPrefix}/${p.containerName}/${taskIdOf(taskArn)}`;
  const tail = await lastLogLines(p.logGroupName, logStreamName);
  const message = failureMessage({
    stagingName: p.stagingName,
    taskArn,
    containerName: p.containerName,
    command: p.command,
    exitCode: exitCode ?? undefined,
    stopCode: task.stopCode,
    stoppedReason: task.stoppedReason,
    containerReason: container?.reason,
    logGroupName: p.logGroupName,
    logStreamName,
    logLines: tail.lines,
    logNote: tail.note,
  });
  logError('release task failed', {
    taskArn,
    stagingName: p.stagingName,
    exitCode,
    stopCode: task.stopCode,
    stoppedReason: task.stoppedReason,
    containerReason: container?.reason,
  });
  throw fail(message);
}
export const isComplete = entry('release-task.isComplete', checkComplete);

async function lastLogLines(
  logGroupName: string,
  logStreamName: string,
): Promise<{ lines?: string[]; note?: string }> {
  try {
    const res = await logs.send(
      new GetLogEventsCommand({ logGroupName, logStreamName, startFromHead: false, limit: LOG_LINES }),
    );
    const lines = [...(res.events ?? [])]
      .sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0))
      .map((e) => cleanLogText(e.message ?? ''))
      .filter((l) => l !== '');
    if (lines.length === 0) return { note: `The log stream '${logStreamName}' has no log lines.` };
    return { lines };
  } catch (e) {
    if (isAwsError(e, 'ResourceNotFoundException')) {
      return {
        note:
          `Logs were not found: no log stream '${logStreamName}' in log group '${logGroupName}' ` +
          '(the container never started or wrote nothing, or its awslogs settings differ from ' +
          'LogGroupName/LogStreamPrefix).',
      };
    }
    logError('could not read release task logs', { logGroupName, logStreamName, error: describeError(e) });
    return { note: `The task's logs could not be read (${describeError(e)}).` };
  }
}
