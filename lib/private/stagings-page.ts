import { Annotations, Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as route53targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { BranchStatePaths, foldersAndBelow } from '../contract/branch-state';
import { shardRegistryParameterName } from '../contract/capacity';
import { DEFAULT_MAX_KEEP_DAYS, StagingsPageEnvironment as Env, stagingsPageHost, stagingsPageUrl } from '../contract/stagings-page';
import { TagKeys } from '../contract/staging';
import type { StagingsPageOptions } from '../shared-staging';
import { StagingAccess, StagingAccessKinds } from '../staging-access';
import type { StagingSleeper } from '../staging-sleeper';
import type { StagingSweeper } from '../staging-sweeper';
import { ReasonedResources, acknowledgeResources } from './acknowledge';
import { StagingArns } from './arns';
import type { BoundAccess } from './bound-access';
import { parameterArn } from './grants';
import { HANDLER_RUNTIME, handlerCode } from './handler-code';
import { InvokedByItsTargetGroup } from './lambda-target';
import { deleteBranchStackStatements } from './stack-deletion';

/**
 * The listener rule priority of the page's host: below the shared app's 50000 and its companion
 * rules (49999 down to 49997), above every branch rule (lib/contract/providers/listener-priority.ts
 * MAX_BRANCH_PRIORITY); the page's own companions take 49995 down to 49993.
 */
export const STAGINGS_PAGE_RULE_PRIORITY = 49996;

/** The longest keep the page may offer, in days: a pin is a date, a year is plenty. */
const MAX_MAX_KEEP_DAYS = 365;

/** What the page needs of the shared staging. */
export interface StagingsPageProps {
  readonly options: StagingsPageOptions;
  readonly prefix: string;
  readonly parameterPrefix: string;
  readonly domainName: string;
  readonly hostedZone: route53.IHostedZone;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  readonly listener: elbv2.IApplicationListener;
  readonly lock: BoundAccess;
  readonly sleeper: StagingSleeper;
  /** Absent when the shared staging runs no sweeper: then the page shows no plans and destroys nothing. */
  readonly sweeper?: StagingSweeper;
  readonly maxStagings?: number;
}

/**
 * Problems with `SharedStagingProps.stagingsPage`, as messages naming the prop, the value and the
 * fix; empty when it is valid (or the page is off).
 */
export function stagingsPageProblems(options: StagingsPageOptions | undefined, access: unknown, sweeperEnabled: boolean): string[] {
  if (!options || options.enabled === false) return [];
  const problems: string[] = [];
  const days = options.maxKeepDays;
  if (days !== undefined && !Token.isUnresolved(days) && (!Number.isInteger(days) || days < 1 || days > MAX_MAX_KEEP_DAYS)) {
    problems.push(`stagingsPage.maxKeepDays must be a whole number of days from 1 to ${MAX_MAX_KEEP_DAYS} (got ${days}); e.g. maxKeepDays: ${DEFAULT_MAX_KEEP_DAYS}`);
  }
  const { destroyClaim: claim, destroyClaimValues: values } = options;
  if ((claim === undefined) !== (values === undefined)) {
    problems.push(
      `stagingsPage.destroyClaim and stagingsPage.destroyClaimValues go together (got destroyClaim ${JSON.stringify(claim)}, destroyClaimValues ${JSON.stringify(values)}); ` +
        "set both, e.g. destroyClaim: 'groups', destroyClaimValues: ['staging-admins'], or neither to keep destroying off the page",
    );
  }
  if (claim !== undefined && !/^\S+$/.test(claim)) {
    problems.push(`stagingsPage.destroyClaim must be the name of a claim of the sign-in's token, e.g. 'groups' or 'custom:staging_role' (got ${JSON.stringify(claim)})`);
  }
  if (values !== undefined && (values.length === 0 || values.some((v) => !/^[^,\s]+$/.test(v)))) {
    problems.push(
      `stagingsPage.destroyClaimValues must be one or more values without commas or spaces, any of which allows a destroy (got ${JSON.stringify(values)}); ` +
        "e.g. ['staging-admins']",
    );
  }
  if (claim !== undefined && values !== undefined) {
    if (!sweeperEnabled) {
      problems.push('stagingsPage.destroyClaim needs the sweeper (the page destroys with its deletion role and announces on its topic); turn sweeper.enabled back on or leave destroyClaim out');
    }
    if (access instanceof StagingAccess && access.kind !== StagingAccessKinds.OIDC && access.kind !== StagingAccessKinds.COGNITO) {
      problems.push(
        `stagingsPage.destroyClaim needs a sign-in (access is ${access.kind}, so nobody on the page has a verified identity to hold the claim); ` +
          'use StagingAccess.oidc({...}) or StagingAccess.cognito({...}), or leave destroyClaim out',
      );
    }
  }
  return problems;
}

/**
 * The stagings page (issue 20, lib/contract/stagings-page.ts): a Lambda function behind its own
 * target group on the shared HTTPS listener, at `https://stagings.<domain>`, locked like every
 * branch host, with an audit log group and a role that reaches the branch stagings only.
 */
export class StagingsPage extends Construct {
  /** `https://stagings.<domain>`. */
  public readonly url: string;
  /** The page's function. */
  public readonly function: lambda.Function;
  /** The function's Lambda target group, on the shared listener behind the lock. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** Who did what on the page (one JSON `AuditRecord` per event), and the function's own logs. */
  public readonly auditLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: StagingsPageProps) {
    super(scope, id);
    const { options, prefix, sweeper } = props;
    const host = stagingsPageHost(props.domainName);
    this.url = stagingsPageUrl(props.domainName);
    const arns = new StagingArns(this, prefix);

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Stagings page of the ${prefix}-* branch stagings`,
    });
    this.auditLogGroup = new logs.LogGroup(this, 'AuditLogs', {
      retention: options.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      // An audit trail outlives what it audits: deleting the shared stack keeps who did what.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const reasons = new ReasonedResources();
    for (const statement of pagePolicy(this, props, arns, this.auditLogGroup, reasons)) role.addToPrincipalPolicy(statement);
    if (sweeper) sweeper.topic.grantPublish(role);

    const destroy = sweeper && options.destroyClaim !== undefined && options.destroyClaimValues !== undefined;
    if (destroy && props.lock.signIn === 'cognito' && options.destroyClaim === 'cognito:groups') {
      Annotations.of(this).addWarningV2(
        'cdk-multi-staging:stagings-page-cognito-groups',
        "stagingsPage.destroyClaim is 'cognito:groups', but Cognito puts the groups in its access token, not among the user claims " +
          'the load balancer signs (x-amzn-oidc-data, from the user info endpoint), which is all the page trusts: nobody could destroy. ' +
          "Give the people who may destroy a custom attribute instead (e.g. custom:staging_role = admin) and set destroyClaim: 'custom:staging_role'.",
      );
    }
    const environment: Record<string, string> = {
      [Env.PREFIX]: prefix,
      [Env.PARAMETER_PREFIX]: props.parameterPrefix,
      [Env.DOMAIN_NAME]: props.domainName,
      [Env.LOAD_BALANCER_ARN]: props.loadBalancer.loadBalancerArn,
      [Env.SIGN_IN]: props.lock.signIn,
      [Env.SLEEPER_FUNCTION_NAME]: props.sleeper.sleeperFunction.functionName,
      [Env.AUDIT_LOG_GROUP]: this.auditLogGroup.logGroupName,
      [Env.MAX_KEEP_DAYS]: String(options.maxKeepDays ?? DEFAULT_MAX_KEEP_DAYS),
      ...(sweeper ? { [Env.SWEEPER_FUNCTION_NAME]: sweeper.function.functionName } : {}),
      ...(destroy
        ? {
            [Env.DELETION_ROLE_ARN]: sweeper.deletionRole.roleArn,
            [Env.NOTIFICATION_TOPIC_ARN]: sweeper.topic.topicArn,
            [Env.DESTROY_CLAIM]: options.destroyClaim!,
            [Env.DESTROY_CLAIM_VALUES]: options.destroyClaimValues!.join(','),
          }
        : {}),
      ...(props.maxStagings !== undefined ? { [Env.MAX_STAGINGS]: String(props.maxStagings) } : {}),
    };
    this.function = new lambda.Function(this, 'Function', {
      code: handlerCode('stagings-page'),
      handler: 'index.handler',
      runtime: HANDLER_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      role,
      logGroup: this.auditLogGroup,
      // A page view reads every staging in a few batched calls (issue 20: at most 1.5 s for 500).
      timeout: Duration.seconds(30),
      memorySize: 512,
      description: `The stagings page of the ${prefix}-* branch stagings, at ${host}`,
      environment,
    });

    const targetGroupName = arns.shared.stagingsPageTargetGroupName;
    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      targetGroupName,
      targetType: elbv2.TargetType.LAMBDA,
      targets: [new InvokedByItsTargetGroup(this.function, arns.targetGroups(targetGroupName))],
    });
    props.lock.lockHost(this, 'StagingsPage', host, this.targetGroup, STAGINGS_PAGE_RULE_PRIORITY);
    new route53.ARecord(this, 'Record', {
      zone: props.hostedZone,
      recordName: `${host}.`,
      target: route53.RecordTarget.fromAlias(new route53targets.LoadBalancerTarget(props.loadBalancer)),
    });

    const policy = role.node.findChild('DefaultPolicy');
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only for read-only calls without resource-level permissions: cloudformation:DescribeStacks (listing all stacks, 100 per call) ' +
        'and cloudwatch:GetMetricData (the branches\' request counts). DeleteStack has its own tag-scoped statement.',
    });
    if (sweeper) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason: "Granted by topic.grantPublish on the sweeper topic's own KMS key only: announcing a destroy on the encrypted topic needs a data key.",
      });
    }
    acknowledgeResources(role, reasons.all);
  }
}

/**
 * The page's role: read the branch stagings and their state, act on branch stagings only. The
 * calls are lambda/stagings-page's, and the sweeper helpers it reads with (lambda/sweeper/aws.ts).
 */
function pagePolicy(scope: Construct, props: StagingsPageProps, arns: StagingArns, auditLogGroup: logs.LogGroup, reasons: ReasonedResources): iam.PolicyStatement[] {
  const state = new BranchStatePaths(props.parameterPrefix);
  const statements = [
    new iam.PolicyStatement({
      sid: 'ReadStacks',
      // DescribeStacks without a stack name (one call per 100 stacks) is authorized on "*" only.
      actions: ['cloudformation:DescribeStacks'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'ReadBranchState',
      // Pins and the sweeper's records by path; keep-alives and sleep states by name, ten a call.
      actions: ['ssm:GetParametersByPath', 'ssm:GetParameters'],
      resources: reasons.scope(
        ...foldersAndBelow(state.pins, state.keepAlives, state.sleepStates, state.sweeper).map((path): [string, string] => [
          parameterArn(scope, path),
          'Pins, keep-alives, sleep states and the sweeper\'s records are one parameter per branch staging below their folder; read only.',
        ]),
      ),
    }),
    new iam.PolicyStatement({
      sid: 'ReadCapacity',
      actions: ['ssm:GetParameter'],
      resources: [parameterArn(scope, shardRegistryParameterName(props.parameterPrefix))],
    }),
    new iam.PolicyStatement({
      sid: 'KeepAndUnkeep',
      actions: ['ssm:PutParameter', 'ssm:DeleteParameter'],
      resources: reasons.scope([parameterArn(scope, state.pins.below), `A pin is one parameter per branch staging below ${state.pins.root}; the page writes nothing else.`]),
    }),
    new iam.PolicyStatement({
      sid: 'WakeAndSleep',
      actions: ['lambda:InvokeFunction'],
      resources: [props.sleeper.sleeperFunction.functionArn],
    }),
    new iam.PolicyStatement({
      sid: 'ReadRequestCounts',
      actions: ['cloudwatch:GetMetricData'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'AuditRecordsAndHistory',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:FilterLogEvents'],
      // The group's ARN ends in `:*` (its streams); FilterLogEvents is authorized on the group itself.
      resources: [auditLogGroup.logGroupArn, arns.logGroups(auditLogGroup.logGroupName)],
    }),
  ];
  const sweeper = props.sweeper;
  if (!sweeper) return statements;
  statements.push(
    new iam.PolicyStatement({
      sid: 'ReadSweeperSettings',
      // Its idle timeout and warning period: the page decides each plan as the sweeper would.
      actions: ['lambda:GetFunctionConfiguration'],
      resources: [sweeper.function.functionArn],
    }),
  );
  if (props.options.destroyClaim === undefined) return statements;
  reasons.scope([
    arns.branchStacks,
    'Branch stacks are created per branch, so their names are only known as <prefix>-*. DeleteStack is further limited to stacks tagged ' +
      `${TagKeys.KIND}=feature|feature-lite and ${TagKeys.PREFIX}=${arns.prefix}, and to the sweeper's deletion role.`,
  ]);
  return [...statements, ...deleteBranchStackStatements(arns, sweeper.deletionRole.roleArn)];
}
