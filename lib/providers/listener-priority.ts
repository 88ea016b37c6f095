import { Fn } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Duration } from 'aws-cdk-lib';
import { AccessEnvironment } from '../contract/access';
import { ProviderNames } from '../contract/staging';
import type { BoundAccess } from '../private/bound-access';
import { ProviderDefinition } from './provider-definition';

/** Properties of `listenerPriorityProvider`. */
export interface ListenerPriorityProviderProps {
  /** The shared HTTPS listener. */
  readonly listener: elbv2.IApplicationListener;
  /** The shared waker's Lambda target group: branch rules forward to it with weight 0 while awake. */
  readonly wakerTargetGroupArn: string;
  /** The stagings' lock: every rule the handler writes carries it. */
  readonly access: BoundAccess;
}

/** Branch host rules on the shared listener, with priorities allocated without collisions. */
export function listenerPriorityProvider(props: ListenerPriorityProviderProps): ProviderDefinition {
  const listenerArn = props.listener.listenerArn;
  const [head, tail] = [0, 1].map((i) => Fn.select(i, Fn.split(':listener/', listenerArn)));
  const rulesOfListener = Fn.join('', [head, ':listener-rule/', tail, '/*']);
  return {
    name: ProviderNames.LISTENER_PRIORITY,
    options: {
      handler: 'listener-priority',
      timeout: Duration.minutes(3),
      // Branch rules forward to the branch and (weight 0 while awake) to the waker.
      environment: { WAKER_TARGET_GROUP_ARN: props.wakerTargetGroupArn, [AccessEnvironment.CONFIG]: props.access.environment },
      policies: [
        new iam.PolicyStatement({ actions: ['elasticloadbalancing:DescribeRules'], resources: ['*'] }),
        new iam.PolicyStatement({
          actions: ['elasticloadbalancing:CreateRule'],
          resources: [listenerArn, rulesOfListener],
        }),
        new iam.PolicyStatement({
          actions: [
            'elasticloadbalancing:ModifyRule',
            'elasticloadbalancing:SetRulePriorities',
            'elasticloadbalancing:DeleteRule',
            'elasticloadbalancing:AddTags',
            'elasticloadbalancing:RemoveTags',
          ],
          resources: [rulesOfListener],
        }),
        // Reading the lock's secrets and, with Cognito, each host's app client.
        ...props.access.providerStatements,
      ],
    },
    wildcards: {
      reason:
        'DescribeRules supports no resource-level permissions; rule changes are limited to the rules of the one shared listener, whose rule ids are assigned by AWS.',
      findings: /^Resource::(\*|.*:listener-rule\/.*\/\*)$/,
    },
  };
}
