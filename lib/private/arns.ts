import { ArnFormat, Fn, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { SharedStagingNames, StagingNamePatterns } from '../contract/naming';

/**
 * Every ARN and ARN pattern the staging system's policies name, each through `Stack.formatArn`
 * (partition, region and account from the stack of `scope`) with the service's own ARN format,
 * and each name or name pattern from `StagingNamePatterns` / `SharedStagingNames`. Policies never
 * build an ARN by hand; test/naming.test.ts ties the patterns to the names.
 */
export class StagingArns {
  /** The name patterns of branch stagings. */
  public readonly patterns: StagingNamePatterns;
  /** The names of the shared staging's own resources. */
  public readonly shared: SharedStagingNames;
  private readonly stack: Stack;

  constructor(scope: IConstruct, public readonly prefix: string) {
    this.stack = Stack.of(scope);
    this.patterns = new StagingNamePatterns(prefix);
    this.shared = new SharedStagingNames(prefix);
  }

  // CloudFormation

  /** Stacks named `<stackName>` (a name or pattern), any stack id. */
  public stacks(stackName: string): string {
    return this.slash('cloudformation', 'stack', `${stackName}/*`);
  }

  /** Branch stacks, `<prefix>-*` (the shared stack's name matches too: deny it by `sharedStack`). */
  public get branchStacks(): string {
    return this.stacks(this.patterns.stackName);
  }

  /** The shared stack of the ready-made app, `<prefix>-shared`. */
  public get sharedStack(): string {
    return this.stacks(this.shared.stackName);
  }

  // ECS

  /** Branch services (names CloudFormation generates from the stack name) on `clusterName`, or on any cluster. */
  public branchServices(clusterName: string = '*'): string {
    return this.slash('ecs', 'service', `${clusterName}/${this.patterns.generatedName}`);
  }

  /** Every revision of the branch task definitions, `<prefix>-*:*`. */
  public get branchTaskDefinitions(): string {
    return this.slash('ecs', 'task-definition', `${this.patterns.taskDefinitionFamily}:*`);
  }

  /** Every task on `clusterName` (task ids are not known in advance). */
  public tasksOn(clusterName: string): string {
    return this.slash('ecs', 'task', `${clusterName}/*`);
  }

  // IAM (global: no region)

  /** Roles named `roleName` (a name or pattern). */
  public roles(roleName: string): string {
    return this.stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: roleName });
  }

  /** Roles CloudFormation named after a branch stack, `<prefix>-*`. */
  public get branchRoles(): string {
    return this.roles(this.patterns.generatedName);
  }

  // CloudWatch Logs

  /** Log groups named `logGroupName` (a name or pattern). */
  public logGroups(logGroupName: string): string {
    return this.colon('logs', 'log-group', logGroupName);
  }

  /** Every log stream of the log groups `logGroupName`. */
  public logStreams(logGroupName: string): string {
    return this.colon('logs', 'log-group', `${logGroupName}:log-stream:*`);
  }

  // EventBridge Scheduler, EventBridge, CloudWatch

  /** Schedules `scheduleName` in the group `groupName` (names or patterns). */
  public schedules(groupName: string, scheduleName: string): string {
    return this.slash('scheduler', 'schedule', `${groupName}/${scheduleName}`);
  }

  /** Branch schedules: `schedule/default/<prefix>-*`, never the shared staging's group. */
  public get branchSchedules(): string {
    return this.schedules(this.patterns.scheduleGroupName, this.patterns.scheduleName);
  }

  /** EventBridge rules named `ruleName`. */
  public eventRules(ruleName: string): string {
    return this.slash('events', 'rule', ruleName);
  }

  /** CloudWatch alarms named `alarmName`. */
  public alarms(alarmName: string): string {
    return this.colon('cloudwatch', 'alarm', alarmName);
  }

  // RDS, ElastiCache, Secrets Manager, SSM

  /** RDS resources of one type (`db`, `snapshot`, `og`, `pg`, `subgrp`) named `name`. */
  public rds(resource: string, name: string): string {
    return this.colon('rds', resource, name);
  }

  /** Branch databases, `<prefix>-*-????`. */
  public get branchDatabases(): string {
    return this.rds('db', this.patterns.databaseIdentifier);
  }

  /** ElastiCache resources of one type (`replicationgroup`, `cluster`) named `name`. */
  public elastiCache(resource: string, name: string): string {
    return this.colon('elasticache', resource, name);
  }

  /** Secrets named `secretName` (a name or pattern); the ARN adds `-` and 6 random characters. */
  public secrets(secretName: string): string {
    return this.colon('secretsmanager', 'secret', secretName);
  }

  /** The branch database secrets only (`databaseSecretName` and the 6-character suffix): not the branch cache tokens. */
  public get branchDatabaseSecrets(): string {
    return this.secrets(`${this.patterns.databaseSecretName}-??????`);
  }

  /** The SSM parameter or path `name` (starting with `/`). */
  public parameters(name: string): string {
    // formatArn renders `parameter/<resourceName>`; SSM names below a path start with `/`.
    return this.slash('ssm', 'parameter', name.replace(/^\//, ''));
  }

  // Elastic Load Balancing, Lambda, Route 53, EC2

  /** Every rule of the listener `listenerArn` (rule ids are assigned by AWS). */
  public listenerRules(listenerArn: string): string {
    // listener/app/<lb name>/<lb id>/<listener id> → listener-rule/app/<lb name>/<lb id>/<listener id>/<rule id>
    const listener = Fn.select(1, Fn.split(':listener/', listenerArn));
    return this.slash('elasticloadbalancing', 'listener-rule', `${listener}/*`);
  }

  /** The target group named `targetGroupName`, whatever its id. */
  public targetGroups(targetGroupName: string): string {
    return this.slash('elasticloadbalancing', 'targetgroup', `${targetGroupName}/*`);
  }

  /** Lambda functions named `functionName` (a name or pattern). */
  public functions(functionName: string): string {
    return this.colon('lambda', 'function', functionName);
  }

  /** Route 53 hosted zones `zoneId` (global: no region or account). */
  public hostedZones(zoneId: string): string {
    return this.stack.formatArn({ service: 'route53', region: '', account: '', resource: 'hostedzone', resourceName: zoneId });
  }

  /** EC2 security groups `groupId`. */
  public securityGroups(groupId: string): string {
    return this.slash('ec2', 'security-group', groupId);
  }

  private slash(service: string, resource: string, resourceName: string): string {
    return this.stack.formatArn({ service, resource, resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  }

  private colon(service: string, resource: string, resourceName: string): string {
    return this.stack.formatArn({ service, resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  }
}
