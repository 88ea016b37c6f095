/** One SSM parameter for the handlers, or undefined when it does not exist. */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { BranchParameter } from '../../lib/contract/branch-state';
import { isAwsError } from './provider';

/** `name`'s value and last write; undefined when it does not exist (ParameterNotFound), any other error thrown. */
export async function parameterIfAny(ssm: SSMClient, name: string): Promise<BranchParameter | undefined> {
  try {
    const { Parameter: p } = await ssm.send(new GetParameterCommand({ Name: name }));
    return p && { name, value: p.Value ?? '', lastModifiedMs: p.LastModifiedDate?.getTime() };
  } catch (e) {
    if (isAwsError(e, 'ParameterNotFound')) return undefined;
    throw e;
  }
}
