import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  Task,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import * as fc from 'fast-check';
import { ecs, isComplete, logs, onEvent } from '../../lambda/release-task';
import { MAX_MESSAGE_BYTES, failureMessage, tailBytes } from '../../lambda/release-task/message';
import {
  STARTED_BY_MAX,
  startedByFor,
  taskDefinitionFamily,
  taskIdOf,
} from '../../lambda/release-task/task';
import { IsCompleteRequest, OnEventRequest } from '../../lambda/shared/provider';
import { ResourceTypes } from '../../lib/contract/providers';

const ecsMock = mockClient(ECSClient);
const logsMock = mockClient(CloudWatchLogsClient);

const CLUSTER = 'arn:aws:ecs:eu-west-1:123456789012:cluster/staging';
const TASK_DEF = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/staging-feature-login-web:7';
const TASK_DEF_NEXT = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/staging-feature-login-web:8';
const OTHER_FAMILY = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/staging-feature-other-web:3';
const TASK_ID = '0123456789abcdef0123456789abcdef';
const TASK_ARN = `arn:aws:ecs:eu-west-1:123456789012:task/staging/${TASK_ID}`;
const OTHER_TASK_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task/staging/fedcba9876543210fedcba9876543210';
const COMMAND = ['bin/rails', 'db:migrate'];

const PROPS = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  ClusterArn: CLUSTER,
  TaskDefinitionArn: TASK_DEF,
  ContainerName: 'web',
  Command: COMMAND,
  Subnets: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
  SecurityGroups: ['sg-0123456789abcdef0'],
  LogGroupName: '/staging/feature-login',
  LogStreamPrefix: 'release',
  TimeoutSeconds: '1800',
  StagingName: 'feature-login',
};

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  props: Record<string, unknown> = PROPS,
  extra: Partial<OnEventRequest> = {},
): OnEventRequest {
  return {
    RequestType: requestType,
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-feature-login/abc',
    RequestId: '6f1a3c1e-8a0b-4d7e-9a55-0d4c5b6a7e8f',
    LogicalResourceId: 'ReleaseTask',
    ResourceType: ResourceTypes.RELEASE,
    ResourceProperties: props,
    ...(requestType !== 'Create' ? { PhysicalResourceId: 'release:feature-login' } : {}),
    ...extra,
  };
}

function completeEvent(requestType: 'Create' | 'Update' | 'Delete' = 'Create'): IsCompleteRequest {
  return {
    ...event(requestType),
    PhysicalResourceId: 'release:feature-login',
    Data: requestType === 'Delete' ? undefined : { TaskArn: TASK_ARN },
  };
}

function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $metadata: {} });
}

function task(overrides: Partial<Task> = {}): Task {
  return {
    taskArn: TASK_ARN,
    taskDefinitionArn: TASK_DEF,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    startedBy: 'release/feature-login',
    overrides: { containerOverrides: [{ name: 'web', command: COMMAND }] },
    containers: [{ name: 'web' }],
    ...overrides,
  };
}

function stopped(container: { exitCode?: number; reason?: string }, t: Partial<Task> = {}): Task {
  return task({
    lastStatus: 'STOPPED',
    desiredStatus: 'STOPPED',
    stopCode: 'EssentialContainerExited',
    stoppedReason: 'Essential container in task exited',
    containers: [{ name: 'web', ...container }],
    ...t,
  });
}

/** Catches the rejection so tests can look at the message and the error itself. */
async function failureOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the promise to reject');
}

beforeEach(() => {
  ecsMock.reset();
  logsMock.reset();
  ecsMock.on(ListTasksCommand).resolves({ taskArns: [] });
  ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }], failures: [] });
});

describe('onEvent Create', () => {
  test('starts one Fargate task with the command override and returns its ARN', async () => {
    const res = await onEvent(event('Create'));

    expect(res).toEqual({ PhysicalResourceId: 'release:feature-login', Data: { TaskArn: TASK_ARN } });
    const calls = ecsMock.commandCalls(RunTaskCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({
      cluster: CLUSTER,
      taskDefinition: TASK_DEF,
      count: 1,
      startedBy: 'release/feature-login',
      clientToken: '6f1a3c1e-8a0b-4d7e-9a55-0d4c5b6a7e8f',
      enableExecuteCommand: false,
      propagateTags: 'TASK_DEFINITION',
      launchType: 'FARGATE',
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
          securityGroups: ['sg-0123456789abcdef0'],
          assignPublicIp: 'DISABLED',
        },
      },
      overrides: { containerOverrides: [{ name: 'web', command: ['bin/rails', 'db:migrate'] }] },
    });
    // The replay check lists by startedBy alone (ListTasks allows no other filter with it).
    expect(ecsMock.commandCalls(ListTasksCommand)[0].args[0].input).toEqual({
      cluster: CLUSTER,
      startedBy: 'release/feature-login',
      nextToken: undefined,
    });
  });

  test('uses a capacity provider strategy instead of the launch type when given (CloudFormation strings)', async () => {
    await onEvent(
      event('Create', {
        ...PROPS,
        CapacityProviderStrategy:
          '[{"CapacityProvider":"FARGATE_SPOT","Weight":"3"},{"capacityProvider":"FARGATE","base":"1","weight":1}]',
        AssignPublicIp: 'ENABLED',
        Subnets: 'subnet-0123456789abcdef0, subnet-0fedcba9876543210',
      }),
    );

    const input = ecsMock.commandCalls(RunTaskCommand)[0].args[0].input;
    expect(input.launchType).toBeUndefined();
    expect(input.capacityProviderStrategy).toEqual([
      { capacityProvider: 'FARGATE_SPOT', weight: 3 },
      { capacityProvider: 'FARGATE', base: 1, weight: 1 },
    ]);
    expect(input.networkConfiguration?.awsvpcConfiguration).toEqual({
      subnets: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
      securityGroups: ['sg-0123456789abcdef0'],
      assignPublicIp: 'ENABLED',
    });
  });

  test('an empty capacity provider strategy means the FARGATE launch type', async () => {
    await onEvent(event('Create', { ...PROPS, CapacityProviderStrategy: '[]' }));
    expect(ecsMock.commandCalls(RunTaskCommand)[0].args[0].input.launchType).toBe('FARGATE');
  });

  test.each([
    [{ Command: undefined }, /Missing required property 'Command'/],
    [{ Command: [] }, /Invalid property 'Command'.*non-empty list of strings/],
    [{ Command: 'bin/rails db:migrate' }, /Invalid property 'Command'/],
    [{ ClusterArn: '' }, /Missing required property 'ClusterArn'/],
    [{ Subnets: [] }, /Invalid property 'Subnets'/],
    [{ SecurityGroups: undefined }, /Missing required property 'SecurityGroups'/],
    [{ AssignPublicIp: 'YES' }, /Invalid property 'AssignPublicIp'.*'ENABLED' or 'DISABLED'/],
    [{ CapacityProviderStrategy: '{not json' }, /Invalid property 'CapacityProviderStrategy'/],
    [{ CapacityProviderStrategy: '[{"weight":1}]' }, /Invalid property 'CapacityProviderStrategy'/],
    [{ CapacityProviderStrategy: '[{"capacityProvider":"FARGATE","weight":"-1"}]' }, /whole number >= 0/],
    [{ TimeoutSeconds: 'soon' }, /Invalid property 'TimeoutSeconds'/],
    [{ StagingName: undefined }, /Missing required property 'StagingName'/],
    [{ LogStreamPrefix: undefined }, /Missing required property 'LogStreamPrefix'/],
  ])('fails on invalid properties %p', async (change, message) => {
    await expect(onEvent(event('Create', { ...PROPS, ...change }))).rejects.toThrow(message);
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(0);
  });

  test('fails with the RunTask failures (e.g. no capacity)', async () => {
    ecsMock.on(RunTaskCommand).resolves({
      tasks: [],
      failures: [{ arn: CLUSTER, reason: 'Capacity is unavailable at this time.', detail: 'FARGATE_SPOT' }],
    });

    const err = await failureOf(onEvent(event('Create')));
    expect(err.message).toMatch(/ECS did not start the release task for staging 'feature-login'/);
    expect(err.message).toContain('Capacity is unavailable at this time. FARGATE_SPOT');
    expect(err.message).toMatch(/deploy again later or change CapacityProviderStrategy/);
  });

  test('fails when RunTask returns neither a task nor failures', async () => {
    ecsMock.on(RunTaskCommand).resolves({});
    await expect(onEvent(event('Create'))).rejects.toThrow(/RunTask returned no task/);
  });

  test('surfaces throttling from RunTask after the SDK has retried', async () => {
    ecsMock.on(RunTaskCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    await expect(onEvent(event('Create'))).rejects.toThrow(
      /Could not start the release task for staging 'feature-login'.*ThrottlingException: Rate exceeded/,
    );
  });

  test('surfaces throttling from the replay check and starts nothing', async () => {
    ecsMock.on(ListTasksCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    await expect(onEvent(event('Create'))).rejects.toThrow(
      /Could not check for a release task already running.*ThrottlingException/,
    );
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(0);
  });

  test('AWS clients use the SDK adaptive retries', async () => {
    expect(await ecs.config.maxAttempts()).toBe(8);
    expect(await logs.config.maxAttempts()).toBe(8);
    expect(ecs.config.retryMode).toBe('adaptive');
  });
});

describe('onEvent replays', () => {
  test('adopts the identical task still running (across ListTasks pages) instead of starting another', async () => {
    const running = 'arn:aws:ecs:eu-west-1:123456789012:task/staging/11111111111111111111111111111111';
    ecsMock
      .on(ListTasksCommand, { nextToken: undefined })
      .resolves({ taskArns: [OTHER_TASK_ARN], nextToken: 'page-2' })
      .on(ListTasksCommand, { nextToken: 'page-2' })
      .resolves({ taskArns: [running] });
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [
        task({ taskArn: OTHER_TASK_ARN, taskDefinitionArn: OTHER_FAMILY }),
        task({ taskArn: running, lastStatus: 'PENDING' }),
      ],
    });

    const res = await onEvent(event('Create'));

    expect(res).toEqual({ PhysicalResourceId: 'release:feature-login', Data: { TaskArn: running } });
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(0);
    expect(ecsMock.commandCalls(ListTasksCommand)).toHaveLength(2);
    expect(ecsMock.commandCalls(DescribeTasksCommand)[0].args[0].input).toEqual({
      cluster: CLUSTER,
      tasks: [OTHER_TASK_ARN, running],
    });
  });

  test('does not adopt a running task with another command, revision or family, or one being stopped', async () => {
    ecsMock.on(ListTasksCommand).resolves({ taskArns: ['a', 'b', 'c', 'd'] });
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [
        task({ taskArn: 'a', overrides: { containerOverrides: [{ name: 'web', command: ['bin/rails', 'db:seed'] }] } }),
        task({ taskArn: 'b', taskDefinitionArn: TASK_DEF_NEXT }),
        task({ taskArn: 'c', taskDefinitionArn: OTHER_FAMILY }),
        task({ taskArn: 'd', desiredStatus: 'STOPPED', lastStatus: 'DEACTIVATING' }),
      ],
    });

    const res = await onEvent(event('Create'));

    expect(res.Data).toEqual({ TaskArn: TASK_ARN });
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(1);
    // Older runs are left alone: no StopTask on Create/Update.
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(0);
  });

  test('a replay after the first task stopped reuses the request id as RunTask client token', async () => {
    await onEvent(event('Create'));
    await onEvent(event('Create'));
    const tokens = ecsMock.commandCalls(RunTaskCommand).map((c) => c.args[0].input.clientToken);
    expect(tokens).toEqual(['6f1a3c1e-8a0b-4d7e-9a55-0d4c5b6a7e8f', '6f1a3c1e-8a0b-4d7e-9a55-0d4c5b6a7e8f']);
  });

  test('describes listed tasks in chunks of 100', async () => {
    const arns = Array.from({ length: 150 }, (_, i) => `arn:aws:ecs:eu-west-1:123456789012:task/staging/t${i}`);
    ecsMock.on(ListTasksCommand).resolves({ taskArns: arns });
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [] });

    await onEvent(event('Create'));

    const sizes = ecsMock.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.tasks?.length);
    expect(sizes).toEqual([100, 50]);
  });
});

describe('onEvent Update', () => {
  test('runs the task again with the new task definition and keeps the physical id', async () => {
    const res = await onEvent(
      event('Update', { ...PROPS, TaskDefinitionArn: TASK_DEF_NEXT }, {
        RequestId: '0b9c7d3e-1111-4222-8333-944455556666',
        OldResourceProperties: PROPS,
      }),
    );

    expect(res).toEqual({ PhysicalResourceId: 'release:feature-login', Data: { TaskArn: TASK_ARN } });
    const input = ecsMock.commandCalls(RunTaskCommand)[0].args[0].input;
    expect(input.taskDefinition).toBe(TASK_DEF_NEXT);
    expect(input.clientToken).toBe('0b9c7d3e-1111-4222-8333-944455556666');
  });

  test('runs a changed command even though the previous run of the same revision is still going', async () => {
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [OTHER_TASK_ARN] });
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [task({ taskArn: OTHER_TASK_ARN })] });

    await onEvent(event('Update', { ...PROPS, Command: ['bin/rails', 'db:migrate:with_data'] }));

    const input = ecsMock.commandCalls(RunTaskCommand)[0].args[0].input;
    expect(input.overrides?.containerOverrides).toEqual([
      { name: 'web', command: ['bin/rails', 'db:migrate:with_data'] },
    ]);
  });

  test('never changes the physical id, even if the staging name property changes', async () => {
    const res = await onEvent(event('Update', { ...PROPS, StagingName: 'feature-renamed' }));
    expect(res.PhysicalResourceId).toBe('release:feature-login');
  });
});

describe('onEvent Delete', () => {
  test('stops a release task of this resource that is still running, and nothing else', async () => {
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [TASK_ARN, OTHER_TASK_ARN] });
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [task({ taskDefinitionArn: TASK_DEF_NEXT }), task({ taskArn: OTHER_TASK_ARN, taskDefinitionArn: OTHER_FAMILY })],
    });
    ecsMock.on(StopTaskCommand).resolves({});

    const res = await onEvent(event('Delete'));

    expect(res).toEqual({ PhysicalResourceId: 'release:feature-login' });
    const stops = ecsMock.commandCalls(StopTaskCommand);
    expect(stops).toHaveLength(1);
    expect(stops[0].args[0].input).toEqual({
      cluster: CLUSTER,
      task: TASK_ARN,
      reason: 'Release task resource of staging feature-login deleted',
    });
    expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(0);
  });

  test('succeeds without stopping anything when no task is running', async () => {
    const res = await onEvent(event('Delete'));
    expect(res).toEqual({ PhysicalResourceId: 'release:feature-login' });
    expect(ecsMock.commandCalls(ListTasksCommand)).toHaveLength(1);
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(0);
  });

  test('ignores a task that is already gone when stopping it', async () => {
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [TASK_ARN] });
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [task()] });
    ecsMock.on(StopTaskCommand).rejects(awsError('InvalidParameterException', 'The referenced task was not found.'));

    await expect(onEvent(event('Delete'))).resolves.toEqual({ PhysicalResourceId: 'release:feature-login' });
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(1);
  });

  test.each(['ClusterNotFoundException', 'AccessDeniedException', 'ThrottlingException'])(
    'always succeeds, even when listing tasks fails with %s',
    async (name) => {
      ecsMock.on(ListTasksCommand).rejects(awsError(name));
      await expect(onEvent(event('Delete'))).resolves.toEqual({ PhysicalResourceId: 'release:feature-login' });
    },
  );

  test('succeeds with incomplete properties (e.g. a failed Create with bad input)', async () => {
    await expect(onEvent(event('Delete', {}))).resolves.toEqual({ PhysicalResourceId: 'release:feature-login' });
    expect(ecsMock.calls()).toHaveLength(0);
  });

  test('replayed Delete is safe (task already stopped by the first one)', async () => {
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [TASK_ARN] });
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [stopped({ exitCode: 143 })] });
    await onEvent(event('Delete'));
    expect(ecsMock.commandCalls(StopTaskCommand)).toHaveLength(0);
  });
});

describe('isComplete', () => {
  test.each(['PROVISIONING', 'PENDING', 'RUNNING', 'DEPROVISIONING'])(
    'is not complete while the task is %s',
    async (lastStatus) => {
      ecsMock.on(DescribeTasksCommand).resolves({ tasks: [task({ lastStatus })] });
      await expect(isComplete(completeEvent())).resolves.toEqual({ IsComplete: false });
      expect(ecsMock.commandCalls(DescribeTasksCommand)[0].args[0].input).toEqual({
        cluster: CLUSTER,
        tasks: [TASK_ARN],
      });
      expect(logsMock.calls()).toHaveLength(0);
    },
  );

  test('is not complete while ECS does not show the new task yet (eventual consistency)', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn: TASK_ARN, reason: 'MISSING' }] });
    await expect(isComplete(completeEvent())).resolves.toEqual({ IsComplete: false });
  });

  test('completes when the container exited 0', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [stopped({ exitCode: 0 })] });
    await expect(isComplete(completeEvent())).resolves.toEqual({
      IsComplete: true,
      Data: { TaskArn: TASK_ARN, ExitCode: '0' },
    });
    expect(logsMock.calls()).toHaveLength(0);
  });

  test.each(['DEACTIVATING', 'STOPPING', 'DEPROVISIONING'])('completes as soon as the container exited 0, while the task is still %s', async (lastStatus) => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [task({ lastStatus, desiredStatus: 'STOPPED', containers: [{ name: 'web', lastStatus: 'STOPPED', exitCode: 0 }] })] });
    await expect(isComplete(completeEvent())).resolves.toEqual({ IsComplete: true, Data: { TaskArn: TASK_ARN, ExitCode: '0' } });
  });

  test('a failed exit still waits for the task to stop, for its stop reason', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [task({ lastStatus: 'DEPROVISIONING', desiredStatus: 'STOPPED', containers: [{ name: 'web', exitCode: 1 }] })] });
    await expect(isComplete(completeEvent())).resolves.toEqual({ IsComplete: false });
  });

  test('completes on Update as well', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [stopped({ exitCode: 0 })] });
    await expect(isComplete(completeEvent('Update'))).resolves.toMatchObject({ IsComplete: true });
  });

  test('only the release container decides: a sidecar exit code does not count', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [stopped({}, { containers: [{ name: 'log-router', exitCode: 0 }, { name: 'web', exitCode: 2 }] })],
    });
    logsMock.on(GetLogEventsCommand).resolves({ events: [] });
    await expect(isComplete(completeEvent())).rejects.toThrow(/exited with code 2/);
  });

  test('fails with the exit code, the stop reason and the last log lines when the command fails', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [stopped({ exitCode: 1 })] });
    logsMock.on(GetLogEventsCommand).resolves({
      events: [
        { timestamp: 3, message: 'ActiveRecord::StatementInvalid: PG::DuplicateColumn: column "email" already exists\n' },
        { timestamp: 1, message: '\u001b[1m== 20240501 AddEmailToUsers: migrating ==\u001b[0m' },
        { timestamp: 2, message: '-- add_column(:users, :email, :string)' },
      ],
    });

    const err = await failureOf(isComplete(completeEvent()));

    expect(logsMock.commandCalls(GetLogEventsCommand)[0].args[0].input).toEqual({
      logGroupName: '/staging/feature-login',
      logStreamName: `release/web/${TASK_ID}`,
      startFromHead: false,
      limit: 30,
    });
    expect(err.message).toContain("Release task for staging 'feature-login' failed: container 'web' exited with code 1");
    expect(err.message).toContain('stop code: EssentialContainerExited; stopped reason: Essential container in task exited');
    expect(err.message).toContain(TASK_ARN);
    expect(err.message).toContain('["bin/rails","db:migrate"]');
    expect(err.message).toContain(
      [
        'Last 3 log lines:',
        '== 20240501 AddEmailToUsers: migrating ==',
        '-- add_column(:users, :email, :string)',
        'ActiveRecord::StatementInvalid: PG::DuplicateColumn: column "email" already exists',
      ].join('\n'),
    );
    expect(err.message).not.toContain('\u001b');
  });

  test('fails with the stop reason when the container never ran (image pull failure)', async () => {
    const reason =
      'CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ' +
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:abc123: not found';
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [stopped({ reason }, { stopCode: 'TaskFailedToStart', stoppedReason: reason })],
    });
    logsMock.on(GetLogEventsCommand).rejects(awsError('ResourceNotFoundException', 'The specified log stream does not exist.'));

    const err = await failureOf(isComplete(completeEvent()));

    expect(err.message).toContain("container 'web' stopped without an exit code");
    expect(err.message).toContain('stop code: TaskFailedToStart');
    expect(err.message).toContain(`stopped reason: ${reason}`);
    expect(err.message).toMatch(/Check that the image exists and can be pulled/);
    expect(err.message).toContain(
      `Logs were not found: no log stream 'release/web/${TASK_ID}' in log group '/staging/feature-login'`,
    );
  });

  test('a null exit code counts as no exit code', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [stopped({ exitCode: null as unknown as undefined }, { stoppedReason: 'Task stopped by user' })],
    });
    logsMock.on(GetLogEventsCommand).resolves({ events: [] });
    const err = await failureOf(isComplete(completeEvent()));
    expect(err.message).toContain('stopped without an exit code');
    expect(err.message).toContain("The log stream 'release/web/" + TASK_ID + "' has no log lines.");
  });

  test('still reports the failure when the logs cannot be read', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [stopped({ exitCode: 137 })] });
    logsMock.on(GetLogEventsCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform logs:GetLogEvents'));

    const err = await failureOf(isComplete(completeEvent()));
    expect(err.message).toContain('exited with code 137');
    expect(err.message).toContain("The task's logs could not be read (AccessDeniedException: not authorized");
  });

  test('the thrown error has a one-line stack, so the framework does not repeat the message', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [stopped({ exitCode: 1 })] });
    logsMock.on(GetLogEventsCommand).resolves({ events: [{ timestamp: 1, message: 'boom' }] });
    const err = await failureOf(isComplete(completeEvent()));
    expect(err.message.split('\n').length).toBeGreaterThan(3);
    expect(err.stack?.split('\n')).toHaveLength(1);
  });

  test('caps the message and keeps the newest log lines', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [stopped({ exitCode: 1 })] });
    const events = Array.from({ length: 30 }, (_, i) => ({
      timestamp: i,
      message: `line ${String(i).padStart(2, '0')} ${'x'.repeat(300)} é€😀`,
    }));
    logsMock.on(GetLogEventsCommand).resolves({ events });

    const err = await failureOf(isComplete(completeEvent()));

    expect(Buffer.byteLength(err.message, 'utf8')).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(err.message).toContain('exited with code 1');
    expect(err.message).toContain('[... earlier log output truncated]');
    expect(err.message).toContain('line 29');
    expect(err.message.endsWith('é€😀')).toBe(true);
    expect(err.message).not.toContain('line 00');
    // The excerpt starts at a whole line.
    const afterMark = err.message.split('[... earlier log output truncated]\n')[1];
    expect(afterMark).toMatch(/^line \d\d /);
  });

  test('fails with an actionable message when DescribeTasks is throttled past the SDK retries', async () => {
    ecsMock.on(DescribeTasksCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    await expect(isComplete(completeEvent())).rejects.toThrow(
      /Could not read the state of release task .*ThrottlingException: Rate exceeded/,
    );
  });

  test('fails clearly when onEvent passed no TaskArn', async () => {
    await expect(isComplete({ ...completeEvent(), Data: {} })).rejects.toThrow(/got no TaskArn/);
  });

  test('Delete is complete at once', async () => {
    await expect(isComplete(completeEvent('Delete'))).resolves.toEqual({ IsComplete: true });
    expect(ecsMock.calls()).toHaveLength(0);
  });
});

describe('failureMessage', () => {
  const base = {
    stagingName: 'feature-login',
    taskArn: TASK_ARN,
    containerName: 'web',
    command: COMMAND,
    exitCode: 1,
    logGroupName: '/g',
    logStreamName: 's',
  };

  test('a single huge log line is cut to its tail', () => {
    const msg = failureMessage({ ...base, logLines: [`${'a'.repeat(10000)}END`] });
    expect(Buffer.byteLength(msg)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(msg.endsWith('END')).toBe(true);
  });

  test('a huge stop reason cannot crowd out the header or overflow the cap', () => {
    const msg = failureMessage({ ...base, stoppedReason: 'r'.repeat(20000), logLines: ['last line'] });
    expect(Buffer.byteLength(msg)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(msg).toContain('exited with code 1');
    expect(msg.endsWith('last line')).toBe(true);
  });

  test('stays within the byte cap for any log content', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 400 }), { maxLength: 30 }), fc.string(), (lines, reason) => {
        const msg = failureMessage({ ...base, stoppedReason: reason, logLines: lines });
        expect(Buffer.byteLength(msg, 'utf8')).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
        expect(msg).toContain("Release task for staging 'feature-login' failed");
      }),
    );
  });

  test('tailBytes never splits a code point', () => {
    expect(tailBytes('a😀b', 5)).toBe('😀b');
    expect(tailBytes('a😀b', 4)).toBe('b');
  });
});

describe('names', () => {
  test('startedBy is release/<staging name> when it fits', () => {
    expect(startedByFor('feature-login')).toBe('release/feature-login');
  });

  test('long staging names are truncated with a hash, keeping them apart', () => {
    const a = startedByFor('feature-a-very-long-branch-name-about-payments-v1');
    const b = startedByFor('feature-a-very-long-branch-name-about-payments-v2');
    expect(a).toHaveLength(STARTED_BY_MAX);
    expect(b).toHaveLength(STARTED_BY_MAX);
    expect(a).not.toBe(b);
    expect(a.startsWith('release/feature-a-very-long')).toBe(true);
  });

  test('startedBy always fits RunTask rules and is stable', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 100 }), (name) => {
        const s = startedByFor(name);
        expect(s.length).toBeLessThanOrEqual(STARTED_BY_MAX);
        expect(s).toMatch(/^[A-Za-z0-9_/-]+$/);
        expect(startedByFor(name)).toBe(s);
      }),
    );
  });

  test('names that differ only in replaced characters get different startedBy values', () => {
    expect(startedByFor('a.b')).not.toBe(startedByFor('a-b'));
  });

  test('task definition family and task id parsing', () => {
    expect(taskDefinitionFamily(TASK_DEF)).toBe('staging-feature-login-web');
    expect(taskDefinitionFamily('staging-feature-login-web:7')).toBe('staging-feature-login-web');
    expect(taskDefinitionFamily('staging-feature-login-web')).toBe('staging-feature-login-web');
    expect(taskIdOf(TASK_ARN)).toBe(TASK_ID);
    expect(taskIdOf(`arn:aws:ecs:eu-west-1:123456789012:task/${TASK_ID}`)).toBe(TASK_ID);
  });
});
