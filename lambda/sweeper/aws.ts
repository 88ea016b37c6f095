/**
 * Every AWS call the sweeper makes, each one paginated or batched to the API's limits so that a
 * run over N stacks makes about N/100 reads. Clients live at module scope (aws-sdk-client-mock's
 * mockClient(Class) catches them) and retry throttling themselves.
 */
import { CloudFormationClient, DeleteStackCommand, paginateDescribeStacks, paginateListStackResources, type Stack } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, PutMetricDataCommand, paginateGetMetricData, type MetricDataQuery, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { PublishBatchCommand, SNSClient, type PublishBatchRequestEntry } from '@aws-sdk/client-sns';
import { DeleteParametersCommand, PutParameterCommand, SSMClient, paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import { describeError } from '../shared/errors';
import { isAwsError } from '../shared/provider';
import type { BranchParameter } from '../../lib/contract/branch-state';
import { MetricWindow, RequestResult, ResourceInfo, lastRequestAt } from './model';
import type { Notice } from './messages';

export type { RequestResult };

const SDK = { maxAttempts: 8, retryMode: 'adaptive' } as const;
export const cloudformation = new CloudFormationClient(SDK);
export const cloudwatch = new CloudWatchClient(SDK);
export const ssm = new SSMClient(SDK);
export const sns = new SNSClient(SDK);

/** GetMetricData takes at most 500 queries per call. */
export const METRIC_QUERIES_PER_CALL = 500;
/** GetParametersByPath returns at most 10 parameters per page. */
const PARAMETERS_PER_PAGE = 10;
/** DeleteParameters takes at most 10 names per call. */
const DELETE_PARAMETERS_PER_CALL = 10;
/** PublishBatch takes at most 10 messages per call. */
const MESSAGES_PER_BATCH = 10;

/** Every stack of the account and region (DescribeStacks pages of up to 100, not one call per stack). */
export async function describeAllStacks(): Promise<Stack[]> {
  const stacks: Stack[] = [];
  for await (const page of paginateDescribeStacks({ client: cloudformation }, {})) stacks.push(...(page.Stacks ?? []));
  return stacks;
}

/** Every parameter below `path` (recursive, all pages). */
export async function parametersByPath(path: string): Promise<BranchParameter[]> {
  const out: BranchParameter[] = [];
  for await (const page of paginateGetParametersByPath({ client: ssm, pageSize: PARAMETERS_PER_PAGE }, { Path: path, Recursive: true })) {
    for (const p of page.Parameters ?? []) {
      if (p.Name !== undefined) out.push({ name: p.Name, value: p.Value ?? '', lastModifiedMs: p.LastModifiedDate?.getTime() });
    }
  }
  return out;
}

export interface RequestQuery {
  readonly key: string;
  readonly targetGroup: string;
  readonly loadBalancer: string;
}

/**
 * ALB RequestCount (Sum) of each target group over the window: up to 500 queries per GetMetricData
 * call, every page of each call. An error on one call affects only the stacks in that call.
 */
export async function lastRequests(queries: RequestQuery[], window: MetricWindow, nowMs: number): Promise<Map<string, RequestResult>> {
  const results = new Map<string, RequestResult>();
  for (let i = 0; i < queries.length; i += METRIC_QUERIES_PER_CALL) {
    const batch = queries.slice(i, i + METRIC_QUERIES_PER_CALL);
    const ids = new Map(batch.map((q, j) => [`q${j}`, q.key]));
    const timestamps = new Map<string, Date[]>();
    const values = new Map<string, number[]>();
    const failures = new Map<string, string>();
    const input = {
      StartTime: new Date(window.startMs),
      EndTime: new Date(window.endMs),
      ScanBy: 'TimestampDescending' as const,
      MetricDataQueries: batch.map((q, j): MetricDataQuery => ({
        Id: `q${j}`,
        ReturnData: true,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/ApplicationELB',
            MetricName: 'RequestCount',
            Dimensions: [
              { Name: 'TargetGroup', Value: q.targetGroup },
              { Name: 'LoadBalancer', Value: q.loadBalancer },
            ],
          },
          Period: window.periodSeconds,
          Stat: 'Sum',
        },
      })),
    };
    try {
      for await (const page of paginateGetMetricData({ client: cloudwatch }, input)) {
        for (const r of page.MetricDataResults ?? []) {
          if (!r.Id || !ids.has(r.Id)) continue;
          if (r.StatusCode === 'InternalError' || r.StatusCode === 'Forbidden') {
            failures.set(r.Id, `GetMetricData returned ${r.StatusCode} for this target group${r.Messages?.length ? `: ${r.Messages.map((m) => m.Value).join('; ')}` : ''}`);
          }
          timestamps.set(r.Id, [...(timestamps.get(r.Id) ?? []), ...(r.Timestamps ?? [])]);
          values.set(r.Id, [...(values.get(r.Id) ?? []), ...(r.Values ?? [])]);
        }
      }
    } catch (e) {
      const message = `GetMetricData failed: ${describeError(e)}`;
      for (const key of ids.values()) results.set(key, { hasData: false, error: message });
      continue;
    }
    for (const [id, key] of ids) {
      const failure = failures.get(id);
      if (failure) {
        results.set(key, { hasData: false, error: failure });
        continue;
      }
      const ts = timestamps.get(id) ?? [];
      results.set(key, {
        hasData: ts.length > 0,
        lastRequestMs: lastRequestAt(ts, values.get(id) ?? [], window.periodSeconds, nowMs),
      });
    }
  }
  return results;
}

/**
 * Creates `name` only if it does not exist (Overwrite=false): the atomic claim that makes a warning
 * or a deletion happen once, however many runs race. False when another run holds it.
 */
export async function claim(name: string, value: Record<string, unknown>): Promise<boolean> {
  try {
    await putParameter(name, value, false);
    return true;
  } catch (e) {
    if (isAwsError(e, 'ParameterAlreadyExists')) return false;
    throw e;
  }
}

/**
 * Rewrites a parameter this run claimed (Overwrite=true): how a warning is marked delivered once
 * SNS accepted it. Only the run holding the claim calls it.
 */
export async function rewrite(name: string, value: Record<string, unknown>): Promise<void> {
  await putParameter(name, value, true);
}

async function putParameter(name: string, value: Record<string, unknown>, overwrite: boolean): Promise<void> {
  await ssm.send(
    new PutParameterCommand({
      Name: name,
      Value: fitParameterValue(value),
      Type: 'String',
      Tier: 'Standard',
      Overwrite: overwrite,
      Description: 'State of the staging sweeper; removed by the sweeper when the staging is gone.',
    }),
  );
}

/** JSON of `value` within a standard parameter's 4 KB: long lists are cut to what fits, never mid-JSON. */
export function fitParameterValue(value: Record<string, unknown>): string {
  const limit = 4096;
  let json = JSON.stringify(value);
  for (const [key, v] of Object.entries(value)) {
    if (Buffer.byteLength(json) <= limit) break;
    if (Array.isArray(v)) {
      const list = [...v];
      while (list.length && Buffer.byteLength(json) > limit) {
        list.pop();
        json = JSON.stringify({ ...value, [key]: list, [`${key}Truncated`]: v.length - list.length });
      }
      value = JSON.parse(json);
    }
  }
  return Buffer.byteLength(json) <= limit ? json : JSON.stringify({ stackId: value.stackId, truncated: true });
}

/** Deletes parameters, 10 per call. Names that no longer exist are not an error. */
export async function deleteParameters(names: string[]): Promise<void> {
  for (let i = 0; i < names.length; i += DELETE_PARAMETERS_PER_CALL) {
    await ssm.send(new DeleteParametersCommand({ Names: names.slice(i, i + DELETE_PARAMETERS_PER_CALL) }));
  }
}

/**
 * DeleteStack by stack id. `already-gone` when CloudFormation answers that the stack does not exist
 * (a ValidationError): someone deleted it first, which is what the sweeper wanted, not a failure.
 */
export async function deleteStack(stackId: string, roleArn: string, clientRequestToken: string, retain?: readonly string[]): Promise<'deleting' | 'already-gone'> {
  try {
    await cloudformation.send(
      new DeleteStackCommand({
        // The stack id, not the name: only the very stack that was judged idle can be deleted.
        StackName: stackId,
        RoleARN: roleArn,
        ClientRequestToken: clientRequestToken,
        RetainResources: retain?.length ? [...retain] : undefined,
      }),
    );
    return 'deleting';
  } catch (e) {
    if (isAwsError(e, 'ValidationError') && /does not exist/i.test(e instanceof Error ? e.message : '')) return 'already-gone';
    throw e;
  }
}

/** The resources of a stack that are DELETE_FAILED, with CloudFormation's reason. */
export async function failedResources(stackId: string): Promise<ResourceInfo[]> {
  const out: ResourceInfo[] = [];
  for await (const page of paginateListStackResources({ client: cloudformation }, { StackName: stackId })) {
    for (const r of page.StackResourceSummaries ?? []) {
      if (r.ResourceStatus === 'DELETE_FAILED' && r.LogicalResourceId) {
        out.push({ logicalId: r.LogicalResourceId, physicalId: r.PhysicalResourceId, type: r.ResourceType, reason: r.ResourceStatusReason });
      }
    }
  }
  return out;
}

/**
 * Publishes notices, 10 per PublishBatch call. Returns the indexes (into `notices`) that failed,
 * with the reason.
 */
export async function publish(topicArn: string, prefix: string, notices: Notice[]): Promise<Map<number, string>> {
  const failed = new Map<number, string>();
  const fifo = topicArn.endsWith('.fifo');
  for (let i = 0; i < notices.length; i += MESSAGES_PER_BATCH) {
    const batch = notices.slice(i, i + MESSAGES_PER_BATCH);
    const entries = batch.map((n, j): PublishBatchRequestEntry => ({
      Id: `m${i + j}`,
      Subject: n.subject,
      Message: n.message,
      MessageAttributes: {
        event: { DataType: 'String', StringValue: n.event },
        staging: { DataType: 'String', StringValue: n.stagingName },
        prefix: { DataType: 'String', StringValue: prefix },
      },
      ...(fifo ? { MessageGroupId: n.stagingName, MessageDeduplicationId: `${n.event}-${n.stagingName}-${i + j}`.slice(0, 128) } : {}),
    }));
    try {
      const result = await sns.send(new PublishBatchCommand({ TopicArn: topicArn, PublishBatchRequestEntries: entries }));
      for (const f of result.Failed ?? []) {
        const index = Number((f.Id ?? '').slice(1));
        if (Number.isInteger(index)) failed.set(index, `SNS PublishBatch entry failed: ${f.Code ?? ''} ${f.Message ?? ''}`.trim());
      }
    } catch (e) {
      batch.forEach((_, j) => failed.set(i + j, `SNS PublishBatch failed: ${describeError(e)}`));
    }
  }
  return failed;
}

/** One PutMetricData call per run (the limit is 1,000 metrics per call; the sweeper sends a handful). */
export async function putMetrics(namespace: string, data: MetricDatum[]): Promise<void> {
  await cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: data }));
}
