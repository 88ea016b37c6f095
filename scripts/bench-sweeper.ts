/**
 * Benchmark of the staging sweeper: drives the real handler against a simulated AWS (every call
 * takes ~50 ms, pages as AWS pages them) for 10, 100 and 1,000 feature stacks, and prints the API
 * calls by operation and the wall time of each run.
 *
 *   npx tsx scripts/bench-sweeper.ts            # LATENCY_MS=50 by default
 *
 * Two scenarios per N:
 * - steady: every staging active or pinned, nothing to do (the common hourly run);
 * - busy: 10% to warn, 5% due for deletion, 3% warned but not due, 10% pinned, 2% in progress,
 *   the rest active; plus unrelated stacks in the account.
 * Reads grow with N/100 (DescribeStacks pages of 100, GetMetricData 500 target groups per call,
 * GetParametersByPath pages of 10 over pins only); writes grow with the stagings acted on.
 */
import { CloudFormationClient, DeleteStackCommand, DescribeStacksCommand, ListStackResourcesCommand, type Stack, type StackStatus } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand, PutMetricDataCommand, type GetMetricDataCommandInput, type MetricDataResult } from '@aws-sdk/client-cloudwatch';
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { DeleteParametersCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../lambda/sweeper/index';
import { ACCOUNT, REGION, SWEEPER_ENV } from '../test/lambda/sweeper-fixtures';

const LATENCY_MS = Number(process.env.LATENCY_MS ?? 50);
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const NOW = Date.now();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const calls = new Map<string, number>();
async function call<T>(operation: string, fn: () => T | Promise<T>): Promise<T> {
  calls.set(operation, (calls.get(operation) ?? 0) + 1);
  await sleep(LATENCY_MS);
  return fn();
}

interface World {
  stacks: Stack[];
  params: Map<string, { value: string; modified: number }>;
  requests: Map<string, number>;
}

function buildWorld(n: number, scenario: 'steady' | 'busy'): World {
  const world: World = { stacks: [], params: new Map(), requests: new Map() };
  const stack = (name: string, kind: string | undefined, createdAgo: number, status = 'UPDATE_COMPLETE'): Stack => {
    const stackName = `staging-${name}`;
    const uuid = `${String(world.stacks.length).padStart(8, '0')}-aaaa-bbbb-cccc-000000000000`;
    const s: Stack = {
      StackName: stackName,
      StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${stackName}/${uuid}`,
      StackStatus: status as StackStatus,
      CreationTime: new Date(NOW - createdAgo),
      LastUpdatedTime: new Date(NOW - createdAgo + HOUR),
      Tags: kind
        ? [
            { Key: 'staging:kind', Value: kind },
            { Key: 'staging:name', Value: name },
            { Key: 'staging:branch', Value: `feature/${name}` },
            { Key: 'staging:prefix', Value: 'staging' },
            { Key: 'staging:managed-by', Value: 'cdk-multi-staging' },
          ]
        : [],
      Outputs: [
        { OutputKey: 'StagingUrl', OutputValue: `https://${name}.staging.example.com` },
        { OutputKey: 'StagingTargetGroupFullName', OutputValue: `targetgroup/staging-${name}/0123456789abcdef` },
        { OutputKey: 'StagingLoadBalancerFullName', OutputValue: 'app/staging-shared/0123456789abcdef' },
        { OutputKey: 'StagingConsoleCommand', OutputValue: `aws ecs execute-command --cluster staging --task ... --container web --interactive --command /bin/sh` },
      ],
    };
    world.stacks.push(s);
    return s;
  };
  /** A warning SNS accepted, claimed at `claimedAt`, as the sweeper records it. */
  const warned = (s: Stack, activity: { at: number; source: string }, claimedAt: number) => {
    const deadline = activity.at + 3 * DAY;
    const record = {
      stackId: s.StackId,
      claimedAt: new Date(claimedAt).toISOString(),
      deleteAt: new Date(Math.max(deadline, claimedAt + DAY)).toISOString(),
      lastActivity: new Date(activity.at).toISOString(),
      lastActivitySource: activity.source,
      deliveredAt: new Date(claimedAt).toISOString(),
    };
    world.params.set(`/staging/sweeper/warned/${s.StackName!.slice('staging-'.length)}/${Math.floor(deadline / 1000)}`, { value: JSON.stringify(record), modified: claimedAt });
  };
  stack('shared', 'shared', 90 * DAY);
  for (let i = 0; i < Math.ceil(n / 20); i++) stack(`unrelated-${i}`, undefined, 90 * DAY); // look-alikes
  for (let i = 0; i < n; i++) {
    const name = `feature-${String(i).padStart(4, '0')}`;
    const pct = (i * 100) / n;
    const kind = i % 3 === 0 ? 'feature-lite' : 'feature';
    const busy = scenario === 'busy';
    if (busy && pct < 10) {
      stack(name, kind, 10 * DAY); // idle: warn now
    } else if (busy && pct < 15) {
      const s = stack(name, kind, 10 * DAY); // warned 2 days ago: delete now
      warned(s, { at: s.LastUpdatedTime!.getTime(), source: 'stack-updated' }, NOW - 2 * DAY);
    } else if (busy && pct < 18) {
      const s = stack(name, kind, 2 * DAY + 12 * HOUR); // last request 2 days 11 hours ago: warned an hour ago, due tomorrow
      const at = NOW - 2 * DAY - 11 * HOUR;
      world.requests.set(`targetgroup/staging-${name}/0123456789abcdef`, at);
      // The sweeper counts a request at the end of its hour bucket.
      warned(s, { at: Math.floor(at / HOUR) * HOUR + HOUR, source: 'request' }, NOW - HOUR);
    } else if (pct < 28) {
      stack(name, kind, 30 * DAY); // pinned
      world.params.set(`/staging/pins/${name}`, { value: '2099-12-31', modified: NOW - 5 * DAY });
    } else if (busy && pct < 30) {
      stack(name, kind, 30 * DAY, 'UPDATE_IN_PROGRESS');
    } else {
      stack(name, kind, 20 * DAY); // active: requests in the last hours
      world.requests.set(`targetgroup/staging-${name}/0123456789abcdef`, NOW - ((i % 40) + 1) * HOUR);
      if (i % 20 === 0) world.params.set(`/staging/keep-alive/${name}`, { value: new Date(NOW - DAY).toISOString(), modified: NOW - DAY });
    }
  }
  return world;
}

const cfn = mockClient(CloudFormationClient);
const cw = mockClient(CloudWatchClient);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);

function install(world: World): void {
  cfn.reset();
  cw.reset();
  ssm.reset();
  sns.reset();
  cfn.on(DescribeStacksCommand).callsFake((input) =>
    call('cloudformation:DescribeStacks', () => {
      const start = Number(input.NextToken ?? 0);
      return { Stacks: world.stacks.slice(start, start + 100), NextToken: start + 100 < world.stacks.length ? String(start + 100) : undefined };
    }),
  );
  cfn.on(DeleteStackCommand).callsFake((input) =>
    call('cloudformation:DeleteStack', () => {
      const s = world.stacks.find((x) => x.StackId === input.StackName);
      if (s) s.StackStatus = 'DELETE_IN_PROGRESS';
      return {};
    }),
  );
  cfn.on(ListStackResourcesCommand).callsFake(() => call('cloudformation:ListStackResources', () => ({ StackResourceSummaries: [] })));
  ssm.on(GetParametersByPathCommand).callsFake((input) =>
    call('ssm:GetParametersByPath', () => {
      const all = [...world.params.entries()].filter(([k]) => k.startsWith(`${input.Path}/`)).sort(([a], [b]) => a.localeCompare(b));
      const start = Number(input.NextToken ?? 0);
      const size = Math.min(input.MaxResults ?? 10, 10);
      return {
        Parameters: all.slice(start, start + size).map(([Name, p]) => ({ Name, Value: p.value, LastModifiedDate: new Date(p.modified) })),
        NextToken: start + size < all.length ? String(start + size) : undefined,
      };
    }),
  );
  ssm.on(PutParameterCommand).callsFake((input) =>
    call('ssm:PutParameter', () => {
      if (!input.Overwrite && world.params.has(input.Name!)) throw Object.assign(new Error('exists'), { name: 'ParameterAlreadyExists' });
      world.params.set(input.Name!, { value: input.Value!, modified: NOW });
      return {};
    }),
  );
  ssm.on(DeleteParametersCommand).callsFake((input) =>
    call('ssm:DeleteParameters', () => {
      for (const name of input.Names ?? []) world.params.delete(name);
      return { DeletedParameters: input.Names };
    }),
  );
  cw.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) =>
    call('cloudwatch:GetMetricData', () => {
      if (input.MetricDataQueries!.length > 500) throw new Error('more than 500 queries');
      const results: MetricDataResult[] = input.MetricDataQueries!.map((q) => {
        const tg = q.MetricStat!.Metric!.Dimensions!.find((d) => d.Name === 'TargetGroup')!.Value!;
        const at = world.requests.get(tg);
        const inWindow = at !== undefined && at >= input.StartTime!.getTime();
        const bucket = inWindow ? Math.floor(at / HOUR) * HOUR : 0;
        return { Id: q.Id, StatusCode: 'Complete', Timestamps: inWindow ? [new Date(bucket)] : [], Values: inWindow ? [12] : [] };
      });
      return { MetricDataResults: results };
    }),
  );
  cw.on(PutMetricDataCommand).callsFake(() => call('cloudwatch:PutMetricData', () => ({})));
  sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) =>
    call('sns:PublishBatch', () => {
      if (input.PublishBatchRequestEntries!.length > 10) throw new Error('more than 10 entries');
      return { Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id, MessageId: e.Id })), Failed: [] };
    }),
  );
}

async function main(): Promise<void> {
  // The environment the StagingSweeper construct sets with its defaults, as the handler tests use it.
  Object.assign(process.env, SWEEPER_ENV);
  const quiet = console.log;
  console.log(`Staging sweeper benchmark: simulated AWS, ${LATENCY_MS} ms per call, DescribeStacks pages of 100, GetParametersByPath pages of 10.\n`);
  const rows: string[][] = [];
  for (const scenario of ['steady', 'busy'] as const) {
    for (const n of [10, 100, 1000]) {
      const world = buildWorld(n, scenario);
      install(world);
      calls.clear();
      const start = performance.now();
      console.log = () => undefined;
      const report = await handler({});
      console.log = quiet;
      const ms = performance.now() - start;
      const total = [...calls.values()].reduce((a, b) => a + b, 0);
      const byOp = [...calls.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([op, c]) => `${op.split(':')[1]} ${c}`).join(', ');
      const c = report.counts;
      rows.push([
        scenario,
        String(n),
        String(total),
        `${(ms / 1000).toFixed(2)} s`,
        `scanned ${c.scanned}, warned ${c.warned}, deleted ${c.deleted}, pinned ${c.pinned}, failed ${c.failed}`,
        byOp,
      ]);
    }
  }
  const header = ['scenario', 'N', 'calls', 'wall', 'outcome', 'calls by operation'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((x, i) => x.padEnd(widths[i])).join(' | ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const r of rows) console.log(line(r));
  console.log(`\nPeak resident memory of this process: ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MB (the function has 512 MB and 15 minutes).`);
  console.log('Reads per run: ceil(stacks/100) DescribeStacks + ceil(candidates/500) GetMetricData + ceil(params/10) GetParametersByPath over pins, keep-alives and sweeper state.');
  console.log(
    'Writes per run: two PutParameter per warning (the claim, then the delivered mark once SNS accepted it), one claim (PutParameter) and one DeleteStack per deletion, ' +
      'PublishBatch per 10 notices, DeleteParameters per 10 obsolete state parameters, one PutMetricData.',
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
