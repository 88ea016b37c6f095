import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import type { BranchParameterFolder } from '../contract/branch-state';

/** The ARN of an SSM parameter or path, `name` starting with `/`, in the stack of `scope`. */
export function parameterArn(scope: IConstruct, name: string): string {
  // formatArn renders `parameter/<resourceName>`; SSM names below a path start with `/`.
  return Stack.of(scope).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') });
}

/** Read every parameter below `parameterPrefix`, one at a time, in batches and by path. */
export function grantReadParameterTree(grantee: iam.IGrantable, scope: IConstruct, parameterPrefix: string): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
    // The path itself for GetParametersByPath, and everything below it.
    resourceArns: [parameterArn(scope, parameterPrefix), parameterArn(scope, `${parameterPrefix}/*`)],
  });
}

/**
 * Write, delete and read the per-staging parameters of one folder, `folder.below`
 * (`<parameterPrefix>/<folder>/*`, lib/contract/branch-state.ts BranchStatePaths).
 */
export function grantBranchParameters(grantee: iam.IGrantable, scope: IConstruct, folder: BranchParameterFolder): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:GetParameter'],
    resourceArns: [parameterArn(scope, folder.below)],
  });
}
