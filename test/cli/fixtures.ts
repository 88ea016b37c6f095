/** The stacks the CLI tests find: two branch stagings and the shared stack, as DescribeStacks returns them. */
import { Stack } from '@aws-sdk/client-cloudformation';
import { StagingNames } from '../../lib/contract/naming';

export const ACCOUNT = '123456789012';
/** The `StagingCostPerDay` output of every fixture staging (one 0.25 vCPU / 0.5 GB task, nothing while asleep). */
export const COST_SUMMARY = '$0.30/day awake, $0.00/day asleep (eu-west-1, prices as of 2026-09-29)';

export function stagingStack(branch: string, kind = 'feature', status = 'UPDATE_COMPLETE'): Stack {
  const n = StagingNames.fromBranch(branch, 'staging');
  return {
    StackName: n.stackName,
    StackId: `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/${n.stackName}/0a1b2c3d-0000-1111-2222-333344445555`,
    StackStatus: status as any,
    CreationTime: new Date('2026-11-28T12:00:00Z'),
    LastUpdatedTime: new Date('2026-11-30T12:00:00Z'),
    Tags: [
      { Key: 'staging:kind', Value: kind },
      { Key: 'staging:name', Value: n.name },
      { Key: 'staging:prefix', Value: 'staging' },
      { Key: 'staging:branch', Value: n.branchTagValue },
    ],
    Outputs: [
      { OutputKey: 'StagingUrl', OutputValue: `https://${n.name}.staging.example.com` },
      { OutputKey: 'StagingCostPerDay', OutputValue: COST_SUMMARY },
    ],
  };
}
export const LOGIN = stagingStack('feature/login');
export const LITE = stagingStack('fix/typo', 'feature-lite');
export const SHARED: Stack = {
  StackName: 'staging-shared',
  StackStatus: 'UPDATE_COMPLETE',
  CreationTime: new Date('2026-10-01T00:00:00Z'),
  Tags: [{ Key: 'staging:kind', Value: 'shared' }, { Key: 'staging:prefix', Value: 'staging' }],
  Outputs: [
    { OutputKey: 'SharedStagingParameterPrefix', OutputValue: '/staging' },
    { OutputKey: 'SweeperFunctionName', OutputValue: 'staging-shared-sweeper' },
    { OutputKey: 'SleeperFunctionName', OutputValue: 'staging-shared-sleeper' },
    { OutputKey: 'SharedStagingClusterName', OutputValue: 'staging-cluster' },
    { OutputKey: 'StagingsPageUrl', OutputValue: 'https://stagings.staging.example.com' },
  ],
};
export const throttle = Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
export const denied = Object.assign(new Error('User: arn:aws:iam::123456789012:user/dev is not authorized to perform: cloudformation:DescribeStacks'), { name: 'AccessDenied' });

