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
  /** The shared HTTPS listeners, one per shard (shard 0 first): each branch rule goes on its shard's. */
  readonly listeners: elbv2.IApplicationListener[];
  /**
   * Shard 0's waker target group, for branch rules whose properties name none (branches deployed
   * before shards): they forward to it with weight 0 while awake.
   */
  readonly wakerTargetGroupArn: string;
  /** The staging system's prefix. */
  readonly prefix: string;
  /** The stagings' lock: every rule the handler writes carries it. */
  readonly access: BoundAccess;
}

/** Branch host rules on the shared listeners, with priorities allocated without collisions. */
export function listenerPriorityProvider(props: ListenerPriorityProviderProps): ProviderDefinition {
  const listenerArns = props.listeners.map((l) => l.listenerArn);
  const reasons = new ReasonedResources();
  const arns = new StagingArns(props.listeners[0], props.prefix);
  const rulesOfListeners = reasons.scope(
    ...listenerArns.map((arn): [string, string] => [
      arns.listenerRules(arn),
      'Rule changes are limited to the rules of the shared listeners, one per shard (whose rule ids are assigned by AWS), that carry the feature tags, and to tagging the rule CreateRule makes.',
    ]),
  );
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
          resources: [...listenerArns, ...rulesOfListeners],
        }),
        // The tags CreateRule puts on the new rule (they are authorized as AddTags on it).
        new iam.PolicyStatement({
          actions: ['elasticloadbalancing:AddTags'],
          resources: rulesOfListeners,
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
          resources: rulesOfListeners,
          conditions: { StringEquals: { [`aws:ResourceTag/${TagKeys.KIND}`]: [...FEATURE_KINDS], [`aws:ResourceTag/${TagKeys.PREFIX}`]: props.prefix } },
        }),
        // Reading the lock's secrets and, with Cognito, each host's app client.
        ...props.access.providerStatements,
      ],
    },
    acknowledgements: reasons.all,
  };
}
