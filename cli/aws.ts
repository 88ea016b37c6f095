import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SSMClient } from '@aws-sdk/client-ssm';
import { CliError } from './io';

/** The AWS clients the commands use, created once per run. */
export interface Clients {
  readonly region: string;
  readonly cloudformation: CloudFormationClient;
  readonly ssm: SSMClient;
  readonly lambda: LambdaClient;
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
  };
};

/** `--region`, else AWS_REGION / AWS_DEFAULT_REGION, else a CliError saying how to set one. */
export function regionOf(options: { region?: string }, env: Record<string, string | undefined>): string {
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new CliError('No AWS region. Pass --region <region> (e.g. --region eu-west-1) or set AWS_REGION.');
  return region;
}
