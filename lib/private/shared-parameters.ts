import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

/** Publishes what feature stacks read at deploy time: one SSM parameter per value, below `parameterPrefix`. */
export function publishSharedParameters(scope: Construct, parameterPrefix: string, values: Record<string, string>): void {
  const parameters = new Construct(scope, 'Parameters');
  for (const [name, value] of Object.entries(values)) {
    new ssm.StringParameter(parameters, name, {
      parameterName: `${parameterPrefix}/${name}`,
      stringValue: value,
    });
  }
}
