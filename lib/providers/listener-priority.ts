import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Duration } from 'aws-cdk-lib';
import { AccessEnvironment } from '../contract/access';
import { FEATURE_KINDS, ProviderNames, TagKeys } from '../contract/staging';
import { ReasonedResources } from '../private/acknowledge';
import { StagingArns } from '../private/arns';
import type { BoundAccess } from '../private/bound-access';
import { ListenerPriorityEnvironment } from '../contract/providers/listener-priority';
import { ProviderDefinition } from './provider-definition';

/** Properties of `listenerPriorityProvider`. */
export interface ListenerPriorityProviderProps {
  /** The shared HTTPS listener. */
  readonly listener: elbv2.IApplicationListener;
  /** The shared waker's Lambda target group: branch rules forward to it with weight 0 while awake. */
  readonly wakerTargetGroupArn: string;
  /** The staging system's prefix. */
  readonly prefix: string;
  /** The stagings' lock: every rule the handler writes carries it. */
  readonly access: BoundAccess;
}

/** Branch host rules on the shared listener, with priorities allocated without collisions. */
export function listenerPriorityProvider(props: ListenerPriorityProviderProps): ProviderDefinition {
  const listenerArn = props.listener.listenerArn;
  const reasons = new ReasonedResources();
  const rulesOfListener: [string, string] = [
    new StagingArns(props.listener, props.prefix).listenerRules(listenerArn),
    'Rule changes are limited to the rules of the one shared listener (whose rule ids are assigned by AWS) that carry the feature tags, and to tagging the rule CreateRule makes.',
  ];
  return {
    name: ProviderNames.LISTENER_PRIORITY,
    options: {
      handler: 'listener-priority',
      timeout: Duration.minutes(3),
      // Branch rules forward to the branch and (weight 0 while awake) to the waker.
      environment: { [ListenerPriorityEnvironment.WAKER_TARGET_GROUP_ARN]: props.wakerTargetGroupArn, [AccessEnvironment.CONFIG]: props.access.environment },
      policies: [
        new iam.PolicyStatement({ actions: ['elasticloadbalancing:DescribeRules'], resources: reasons.scope(['*', 'DescribeRules supports no resource-level permissions.']) }),
        new iam.PolicyStatement({
          actions: ['elasticloadbalancing:CreateRule'],
          resources: [listenerArn, ...reasons.scope(rulesOfListener)],
        }),
        // The tags CreateRule puts on the new rule (they are authorized as AddTags on it).
        new iam.PolicyStatement({
          actions: ['elasticloadbalancing:AddTags'],
          resources: reasons.scope(rulesOfListener),
          conditions: { StringEquals: { 'elasticloadbalancing:CreateAction': 'CreateRule' } },
        }),
        // Branch rules are created with the branch's staging tags (lib/private/branch-services.ts);
        // the shared app's rule and any other rule of the listener are not theirs to change.
        new iam.PolicyStatement({
          actions: [
            'elasticloadbalancing:ModifyRule',
            'elasticloadbalancing:SetRulePriorities',
            'elasticloadbalancing:DeleteRule',
            'elasticloadbalancing:AddTags',
            'elasticloadbalancing:RemoveTags',
          ],
          resources: reasons.scope(rulesOfListener),
          conditions: { StringEquals: { [`aws:ResourceTag/${TagKeys.KIND}`]: [...FEATURE_KINDS], [`aws:ResourceTag/${TagKeys.PREFIX}`]: props.prefix } },
        }),
        // Reading the lock's secrets and, with Cognito, each host's app client.
        ...props.access.providerStatements,
      ],
    },
    acknowledgements: reasons.all,
  };
}
