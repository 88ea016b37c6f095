import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SSMClient } from '@aws-sdk/client-ssm';
import { invocationAnswer } from '../lib/contract/stagings-view';
import { CliError, aws } from './io';

/** The AWS clients the commands use, created once per run. */
export interface Clients {
  readonly region: string;
  readonly cloudformation: CloudFormationClient;
  readonly ssm: SSMClient;
  readonly lambda: LambdaClient;
  readonly ecs: ECSClient;
  readonly logs: CloudWatchLogsClient;
}

/** Options every AWS command takes. */
export interface GlobalOptions {
  readonly prefix: string;
  readonly region?: string;
  readonly json?: boolean;
}

export type ClientFactory = (region: string) => Clients;

/** Real clients, with adaptive retries so bursts of calls ride out throttling. */
export const defaultClients: ClientFactory = (region) => {
  const config = { region, maxAttempts: 8, retryMode: 'adaptive' as const };
  return {
    region,
    cloudformation: new CloudFormationClient(config),
    ssm: new SSMClient(config),
    lambda: new LambdaClient(config),
    ecs: new ECSClient(config),
    logs: new CloudWatchLogsClient(config),
  };
};

/** `--region`, else AWS_REGION / AWS_DEFAULT_REGION, else a CliError saying how to set one. */
export function regionOf(options: { region?: string }, env: Record<string, string | undefined>): string {
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new CliError('No AWS region. Pass --region <region> (e.g. --region eu-west-1) or set AWS_REGION.');
  return region;
}

/**
 * Invokes a function of the shared stack and returns its JSON result. A function error (the
 * handler threw) is a CliError with the handler's own message, which says what to do.
 */
export async function invokeJson<T>(clients: Clients, functionName: string, payload: unknown, what: string): Promise<T> {
  const out = await aws(`lambda:InvokeFunction on ${functionName}`, () =>
    clients.lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: new TextEncoder().encode(JSON.stringify(payload)) })));
  const answer = invocationAnswer(out.Payload, out.FunctionError);
  if (answer.error !== undefined) throw new CliError(`The ${what} ${functionName} failed (${out.FunctionError}): ${answer.error}`);
  if (answer.result === undefined) throw new CliError(`The ${what} ${functionName} returned no result (${JSON.stringify(answer.text.slice(0, 200))}).`);
  return answer.result as T;
}
