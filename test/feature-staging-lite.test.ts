import { Annotations as CdkAnnotations, App, CfnParameter, CfnResource, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { FeatureStagingLite, FeatureStagingLiteProps, SharedStagingRef, StagingKinds, StagingNames, TagKeys } from '../lib';
import { FeatureOutputs, MANAGED_BY_VALUE } from '../lib/contract/staging';
import { ResourceTypes } from '../lib/contract/providers';
import { addCostOutput } from '../lib/private/cost-output';
import { normalizeTemplate } from '../lib/testing';
import { cliCost, costOutput } from './util/cost';
import { container, containers, join, notAfterQuota, onlyId, resourcesOfType, ssm, ssmParameterIds } from './util/template';
import { ShardAttributes } from '../lib/contract/capacity';
import { BRANCH, BranchHarnessOptions, buildBranch, BuiltBranch, ENV, IMAGE, NAMES } from './util/harness';

const SECRET_NAMES = ['DATABASE_PASSWORD', 'REDIS_PASSWORD', 'SOLR_USERNAME', 'SOLR_PASSWORD'];

type Built = BuiltBranch<FeatureStagingLite>;

/**
 * A FeatureStagingLite with a web service, one worker and one nightly job, in its BranchStagingStack.
 * `validate` runs cdk-nag and CloudFormation Validate on the same synthesis (the slow part).
 */
function build(overrides: Partial<FeatureStagingLiteProps> = {}, opts: BranchHarnessOptions = {}): Built {
  return buildBranch((scope, props) => new FeatureStagingLite(scope, 'Staging', { ...props, ...overrides }), overrides.branch, opts);
}

/** `{ Ref }` to the stack parameter that reads the SSM parameter `path`. */


/** The ECS services behind a load balancer (the web service). */
function webServices(json: any): Array<[string, any]> {
  return resourcesOfType(json, 'AWS::ECS::Service').filter(([, r]) => (r.Properties.LoadBalancers ?? []).length > 0);
}

describe('FeatureStagingLite', () => {
  let built: Built, json: any, template: Template;
  const P = (name: string) => ssm(json, `/staging/shared/${name}`);
  const shard = (attribute: string) => ({ 'Fn::GetAtt': [onlyId(json, ResourceTypes.STAGING_QUOTA), attribute] });
  beforeAll(() => ({ json, template } = built = build({}, { validate: true })));
  test('is clean under cdk-nag AwsSolutions and CloudFormation Validate', () => expect(built.findings).toEqual([]));

  describe('web service behind a host rule', () => {
    test('exactly one listener rule, from the shared listener-priority provider, routes <name>.<domain> to the stack\'s target group', () => {
      template.resourceCountIs('Custom::StagingListenerRule', 1);
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', 1);
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 0);
      template.hasResourceProperties('Custom::StagingListenerRule', {
        ServiceToken: ssm(json, '/staging/shared/providers/listener-priority/service-token'),
        ListenerArn: shard(ShardAttributes.LISTENER_ARN),
        HostHeader: join(`${NAMES.name}.`, P('domain-name')),
        TargetGroupArn: { Ref: onlyId(json, 'AWS::ElasticLoadBalancingV2::TargetGroup') },
        WakerTargetGroupArn: shard(ShardAttributes.WAKER_TARGET_GROUP_ARN),
      });
    });

    test('the rule, the record, the sleep config and the output take the shard from the quota resource, never from the shared parameters', () => {
      for (const name of ['listener-arn', 'load-balancer-dns-name', 'load-balancer-canonical-hosted-zone-id', 'load-balancer-full-name', 'waker/target-group-arn']) {
        expect([name, ssmParameterIds(json, `/staging/shared/${name}`)]).toEqual([name, []]);
      }
      template.hasResourceProperties('Custom::StagingSleep', {
        LoadBalancerFullName: shard(ShardAttributes.LOAD_BALANCER_FULL_NAME),
        WakerTargetGroupArn: shard(ShardAttributes.WAKER_TARGET_GROUP_ARN),
      });
    });

    test('the listener rule carries the staging\'s tags', () => {
      const rule = json.Resources[onlyId(json, 'Custom::StagingListenerRule')];
      const tags = Object.fromEntries((rule.Properties.Tags as Array<{ Key: string; Value: string }>).map((t) => [t.Key, t.Value]));
      expect(tags).toEqual({
        [TagKeys.KIND]: StagingKinds.FEATURE_LITE,
        [TagKeys.NAME]: NAMES.name,
        [TagKeys.BRANCH]: NAMES.branchTagValue,
        [TagKeys.PREFIX]: 'staging',
        [TagKeys.MANAGED_BY]: MANAGED_BY_VALUE,
      });
    });

    test('the web ECS service depends on the listener rule and is registered in the target group', () => {
      const ruleId = onlyId(json, 'Custom::StagingListenerRule');
      const targetGroupId = onlyId(json, 'AWS::ElasticLoadBalancingV2::TargetGroup');
      const web = webServices(json);
      expect(web).toHaveLength(1);
      expect(web[0][1].DependsOn).toContain(ruleId);
      expect(web[0][1].Properties.LoadBalancers).toEqual([{ ContainerName: 'app', ContainerPort: 80, TargetGroupArn: { Ref: targetGroupId } }]);
      expect(web[0][1].Properties.TaskDefinition).toEqual({ Ref: container(json, 'web').taskDefinition });
      expect(container(json, 'web').raw.PortMappings).toEqual([{ ContainerPort: 80, Protocol: 'tcp' }]);
    });

    test('its own IP target group in the shared VPC checks health at / by default', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        TargetType: 'ip',
        Protocol: 'HTTP',
        Port: 80,
        VpcId: P('vpc-id'),
        HealthCheckPath: '/',
      });
    });

    test('a new task takes traffic after two checks 5 s apart, and an old one drains for 5 s (redeploy and wake, scripts/critical-path.ts)', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 4,
        HealthyThresholdCount: 2,
        UnhealthyThresholdCount: 3,
        TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '5' }]),
      });
    });
  });

  test('workers run as ECS services and the scheduled job as an EventBridge Scheduler schedule on the shared cluster', () => {
    template.resourceCountIs('AWS::ECS::Service', 2);
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    const worker = container(json, 'worker');
    expect(worker.raw.Command).toEqual(['bin/worker']);
    template.hasResourceProperties('AWS::ECS::Service', {
      Cluster: P('cluster-name'),
      TaskDefinition: { Ref: worker.taskDefinition },
      LoadBalancers: [],
    });
    for (const [, service] of resourcesOfType(json, 'AWS::ECS::Service')) {
      expect(service.Properties.Cluster).toEqual(P('cluster-name'));
      expect(service.Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups).toEqual([P('workload-security-group-id')]);
      expect(service.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp).toBe('DISABLED');
    }

    const job = container(json, 'nightly');
    expect(job.raw.Command).toEqual(['bin/nightly']);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      State: 'ENABLED',
      Target: {
        // The cluster ARN is derived from the shared cluster's name.
        Arn: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':cluster/$'), P('cluster-name')])] },
        RoleArn: Match.anyValue(),
        EcsParameters: Match.objectLike({
          TaskDefinitionArn: { Ref: job.taskDefinition },
          NetworkConfiguration: {
            AwsvpcConfiguration: Match.objectLike({ SecurityGroups: [P('workload-security-group-id')], AssignPublicIp: 'DISABLED' }),
          },
        }),
      },
    });
  });

  test('services and jobs are staging-sized by default: 256 CPU units, 512 MiB, one task', () => {
    const taskDefinitions = resourcesOfType(json, 'AWS::ECS::TaskDefinition');
    expect(taskDefinitions).toHaveLength(3);
    for (const [, td] of taskDefinitions) {
      expect({ cpu: td.Properties.Cpu, memory: td.Properties.Memory }).toEqual({ cpu: '256', memory: '512' });
    }
    for (const [, service] of resourcesOfType(json, 'AWS::ECS::Service')) {
      expect(service.Properties.DesiredCount).toBe(1);
    }
  });

  describe('configuration', () => {
    test('every container gets the staging name, stream, URL, branch and its service name', () => {
      const all = containers(json);
      expect(all.map((c) => c.service).sort()).toEqual(['nightly', 'web', 'worker']);
      for (const c of all) {
        expect(c.environment).toMatchObject({
          STAGING_NAME: NAMES.name,
          STAGING_STREAM: 'feature-staging',
          STAGING_URL: join(`https://${NAMES.name}.`, P('domain-name')),
          BRANCH_NAME: BRANCH,
        });
      }
    });

    test('data-source variables point at the values the shared staging published in SSM', () => {
      for (const c of containers(json)) {
        expect(c.environment).toMatchObject({
          DATABASE_HOST: P('database/endpoint'),
          DATABASE_PORT: P('database/port'),
          DATABASE_NAME: P('database/name'),
          // As in FeatureStaging: a plain variable, read from the shared secret at deploy time.
          DATABASE_USERNAME: join('{{resolve:secretsmanager:', P('database/secret-arn'), ':SecretString:username::}}'),
          REDIS_HOST: P('cache/endpoint'),
          REDIS_PORT: P('cache/port'),
          REDIS_TLS: 'true',
          SOLR_URL: P('solr/url'),
        });
      }
    });

    test('passwords come as ECS secrets from the shared secrets, never as plain environment', () => {
      for (const c of containers(json)) {
        expect(c.secrets).toEqual({
          DATABASE_PASSWORD: join(P('database/secret-arn'), ':password::'),
          REDIS_PASSWORD: join(P('cache/auth-secret-arn'), ':password::'),
          SOLR_USERNAME: join(P('solr/secret-arn'), ':username::'),
          SOLR_PASSWORD: join(P('solr/secret-arn'), ':password::'),
        });
        expect(c.environmentNames.filter((n) => /PASSWORD|SECRET|TOKEN/.test(n))).toEqual([]);
        expect(c.environmentNames.filter((n) => SECRET_NAMES.includes(n))).toEqual([]);
      }
      // The execution roles may read the shared secrets.
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: Match.arrayWith(['secretsmanager:GetSecretValue']),
              Resource: Match.arrayWith([P('database/secret-arn'), P('solr/secret-arn')]),
            }),
          ]),
        },
      });
    });
  });

  test("a Route 53 alias A record <name>.<domain>. points at its shard's load balancer", () => {
    template.resourceCountIs('AWS::Route53::RecordSet', 1);
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Type: 'A',
      Name: join(`${NAMES.name}.`, P('domain-name'), '.'),
      HostedZoneId: P('hosted-zone-id'),
      AliasTarget: {
        DNSName: shard(ShardAttributes.LOAD_BALANCER_DNS_NAME),
        HostedZoneId: shard(ShardAttributes.CANONICAL_HOSTED_ZONE_ID),
      },
    });
  });

  describe('outputs', () => {
    test('the URL, a console command and the CloudWatch dimensions the sweeper reads', () => {
      template.hasOutput('StagingUrl', { Value: join(`https://${NAMES.name}.`, P('domain-name')) });
      template.hasOutput('StagingTargetGroupFullName', {
        Value: { 'Fn::GetAtt': [onlyId(json, 'AWS::ElasticLoadBalancingV2::TargetGroup'), 'TargetGroupFullName'] },
      });
      template.hasOutput('StagingLoadBalancerFullName', { Value: shard(ShardAttributes.LOAD_BALANCER_FULL_NAME) });
      expect(built.staging.url).toMatch(/^https:\/\/feature-new-cool-page-[0-9a-f]{8}\./);
    });

    test('the console command is a ready-to-paste `aws ecs execute-command` into the web service on the shared cluster', () => {
      const value = json.Outputs.StagingConsoleCommand.Value;
      const text = JSON.stringify(value);
      expect(text).toContain('aws ecs execute-command');
      expect(text).toContain('--interactive');
      expect(text).toContain(JSON.stringify(P('cluster-name')));
      const webServiceId = webServices(json)[0][0];
      expect(text).toContain(JSON.stringify({ 'Fn::GetAtt': [webServiceId, 'Name'] }));
    });

    test('ECS Exec is enabled on every service, and its task roles may open the channels', () => {
      for (const [, service] of resourcesOfType(json, 'AWS::ECS::Service')) {
        expect(service.Properties.EnableExecuteCommand).toBe(true);
      }
      const web = resourcesOfType(json, 'AWS::ECS::TaskDefinition').find(([id]) => id === container(json, 'web').taskDefinition)![1];
      const roleId = web.Properties.TaskRoleArn['Fn::GetAtt'][0];
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: roleId }],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['ssmmessages:CreateControlChannel']) })]),
        },
      });
    });
  });

  describe('logs', () => {
    test('one log group per service, /staging/<name>/<service>, kept 7 days, deleted with the stack', () => {
      const groups = resourcesOfType(json, 'AWS::Logs::LogGroup');
      expect(groups.map(([, g]) => g.Properties.LogGroupName).sort()).toEqual(
        ['nightly', 'web', 'worker'].map((s) => `/staging/${NAMES.name}/${s}`),
      );
      for (const [, g] of groups) {
        expect(g.Properties.RetentionInDays).toBe(7);
        expect(g.DeletionPolicy).toBe('Delete');
        expect(g.UpdateReplacePolicy).toBe('Delete');
      }
    });

    test('each container logs to its own service\'s log group', () => {
      const byName = Object.fromEntries(resourcesOfType(json, 'AWS::Logs::LogGroup').map(([id, g]) => [g.Properties.LogGroupName, id]));
      for (const c of containers(json)) {
        expect(c.raw.LogConfiguration).toEqual({
          LogDriver: 'awslogs',
          Options: expect.anything(),
        });
        expect(c.raw.LogConfiguration.Options['awslogs-group']).toEqual({ Ref: byName[`/staging/${NAMES.name}/${c.service}`] });
      }
    });
  });

  test('cdk destroy leaves nothing: no resource is retained or snapshotted', () => {
    const kept = Object.entries(json.Resources as Record<string, any>)
      .filter(([, r]) => ['Retain', 'Snapshot', 'RetainExceptOnCreate'].some((p) => r.DeletionPolicy === p || r.UpdateReplacePolicy === p))
      .map(([id, r]) => `${id} (${r.Type}): DeletionPolicy=${r.DeletionPolicy} UpdateReplacePolicy=${r.UpdateReplacePolicy}`);
    expect(kept).toEqual([]);
    // What the branch leaves in AWS is all in this stack, so deleting the stack deletes it.
    for (const type of ['AWS::Logs::LogGroup', 'AWS::Route53::RecordSet', 'Custom::StagingListenerRule', 'AWS::ElasticLoadBalancingV2::TargetGroup', 'AWS::Scheduler::Schedule']) {
      expect(resourcesOfType(json, type).length).toBeGreaterThan(0);
    }
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  describe('safe deploys', () => {
    test('every service uses the deployment circuit breaker with rollback', () => {
      const services = resourcesOfType(json, 'AWS::ECS::Service');
      expect(services).toHaveLength(2);
      for (const [, s] of services) {
        expect(s.Properties.DeploymentConfiguration.DeploymentCircuitBreaker).toEqual({ Enable: true, Rollback: true });
      }
    });

    test('services and jobs run on Fargate Spot with on-demand Fargate as fallback', () => {
      const strategies = [
        ...resourcesOfType(json, 'AWS::ECS::Service').map(([, s]) => s.Properties),
        ...resourcesOfType(json, 'AWS::Scheduler::Schedule').map(([, s]) => s.Properties.Target.EcsParameters),
      ];
      expect(strategies).toHaveLength(3);
      for (const p of strategies) {
        expect(p.LaunchType).toBeUndefined();
        const providers = (p.CapacityProviderStrategy as Array<{ CapacityProvider: string }>).map((s) => s.CapacityProvider);
        expect(providers).toEqual(expect.arrayContaining(['FARGATE_SPOT', 'FARGATE']));
      }
    });
  });

  describe('tags', () => {
    test('the stack is tagged as a feature-lite staging, with its name, branch, prefix and manager', () => {
      const tags = built.app.synth().getStackByName(built.stack.stackName).tags;
      expect(tags).toEqual({
        [TagKeys.KIND]: 'feature-lite',
        [TagKeys.NAME]: NAMES.name,
        [TagKeys.BRANCH]: BRANCH,
        [TagKeys.PREFIX]: 'staging',
        [TagKeys.MANAGED_BY]: 'cdk-multi-staging',
      });
    });

    test('taggable resources carry the same marker', () => {
      for (const type of ['AWS::ECS::Service', 'AWS::ECS::TaskDefinition', 'AWS::Logs::LogGroup', 'AWS::ElasticLoadBalancingV2::TargetGroup']) {
        for (const [id, r] of resourcesOfType(json, type)) {
          const tags = Object.fromEntries((r.Properties.Tags as Array<{ Key: string; Value: string }>).map((t) => [t.Key, t.Value]));
          expect({ id, tags }).toEqual({ id, tags: expect.objectContaining({ [TagKeys.KIND]: 'feature-lite', [TagKeys.NAME]: NAMES.name, [TagKeys.BRANCH]: BRANCH }) });
        }
      }
    });
  });

  test('a quota check from the shared staging-quota provider comes first: every other resource DependsOn it', () => {
    template.hasResourceProperties(ResourceTypes.STAGING_QUOTA, {
      ServiceToken: ssm(json, '/staging/shared/providers/staging-quota/service-token'),
      StagingName: NAMES.name,
      Branch: BRANCH,
    });
    expect(notAfterQuota(json)).toEqual([]);
    expect(json.Resources[onlyId(json, ResourceTypes.STAGING_QUOTA)].DependsOn).toBeUndefined();
  });

  test('the feature stack has no Lambda function and no Fn::ImportValue', () => {
    template.resourceCountIs('AWS::Lambda::Function', 0);
    expect(Object.values(json.Resources as Record<string, any>).filter((r) => String(r.Type).startsWith('AWS::Lambda::'))).toEqual([]);
    expect(JSON.stringify(json)).not.toContain('Fn::ImportValue');
    // Everything it reads from the shared staging comes from the SSM parameters it published.
    for (const [id, p] of Object.entries(json.Parameters as Record<string, any>)) {
      if (id === 'BootstrapVersion') continue;
      expect({ id, type: p.Type, path: p.Default }).toEqual({ id, type: 'AWS::SSM::Parameter::Value<String>', path: expect.stringMatching(/^\/staging\/shared\//) });
    }
  });

  test.each([
    ['https://public.ecr.aws/docker/library/nginx:1.27', /^image starts with "https:\/\/"; .*\(got "https:\/\/public\.ecr\.aws\/docker\/library\/nginx:1\.27"\); pass an image Docker can pull, e\.g\. ContainerImage\.fromRegistry\("public\.ecr\.aws\/docker\/library\/nginx:1\.27"\)$/],
    ['MyApp:Latest', /^image has an upper-case repository "MyApp"; repositories are lower case: "myapp" \(got "MyApp:Latest"\)/],
    ['', /^image is empty \(got ""\)/],
  ])('fails on an image Docker cannot pull: %j', (image, message) => {
    const stack = new Stack(new App(), 'BadImage', { env: ENV });
    const shared = SharedStagingRef.fromParameters(stack, 'Shared');
    expect(() => new FeatureStagingLite(stack, 'Staging', { branch: BRANCH, shared, image: ecs.ContainerImage.fromRegistry(image) })).toThrow(message);
  });

  test('checks an ECR image around its tokens: a bad literal tag fails, a tag from a parameter passes', () => {
    const lite = (tag: (stack: Stack) => string) => () => {
      const stack = new Stack(new App(), 'EcrImage', { env: ENV });
      const repository = ecr.Repository.fromRepositoryName(stack, 'Repo', 'rails-app');
      const image = ecs.ContainerImage.fromEcrRepository(repository, tag(stack));
      new FeatureStagingLite(stack, 'Staging', { branch: BRANCH, shared: SharedStagingRef.fromParameters(stack, 'Shared'), image });
    };
    expect(lite(() => '-bad')).toThrow(/^image has an invalid tag "-bad".*\(got "123456789012\.dkr\.ecr\.eu-west-1\.token\/rails-app:-bad"\)/);
    expect(lite((stack) => new CfnParameter(stack, 'Tag').valueAsString)).not.toThrow();
  });

  test('outputs its cost per day, awake and asleep, as `staging cost` prices its template', async () => {
    // Its tasks, job and logs, all stopped while asleep: the data is the shared stack's.
    expect(json.Outputs[FeatureOutputs.COST_PER_DAY].Value).toBe('$0.61/day awake, $0.00/day asleep (eu-west-1, prices as of 2026-09-29)');
    expect(costOutput(json)).toEqual(await cliCost(json, ENV.region));
  });

  test('snapshot', () => {
    expect(normalizeTemplate(template.toJSON())).toMatchSnapshot();
  });
});

describe('FeatureStagingLite overrides', () => {
  let json: any;
  let template: Template;
  let findings: string[];

  beforeAll(() => {
    const built = build({
      web: { name: 'web', cpu: 1024, memoryLimitMiB: 2048, desiredCount: 3, containerPort: 8080, healthCheckPath: '/health', environment: { LOG_LEVEL: 'warn' } },
      workers: [
        { name: 'worker', cpu: 512, memoryLimitMiB: 1024, desiredCount: 0 },
        { name: 'mailer', command: ['bin/mailer'] },
      ],
      scheduledJobs: [{ name: 'nightly', cpu: 2048, memoryLimitMiB: 4096, schedule: scheduler.ScheduleExpression.expression('rate(1 day)') }],
      environment: { DATABASE_HOST: 'db.branch.internal', LOG_LEVEL: 'debug' },
      capacityProviderStrategies: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
    }, { validate: true });
    json = built.json;
    template = built.template;
    findings = built.findings;
  });

  test('is clean under cdk-nag AwsSolutions and CloudFormation Validate (an overridden data source leaves no unused SSM parameter)', () => {
    expect(findings).toEqual([]);
  });

  test('sizes and desired counts are honoured per service', () => {
    const size = (service: string) => {
      const td = json.Resources[container(json, service).taskDefinition].Properties;
      return { cpu: td.Cpu, memory: td.Memory };
    };
    expect(size('web')).toEqual({ cpu: '1024', memory: '2048' });
    expect(size('worker')).toEqual({ cpu: '512', memory: '1024' });
    expect(size('mailer')).toEqual({ cpu: '256', memory: '512' });
    expect(size('nightly')).toEqual({ cpu: '2048', memory: '4096' });
    const desired = Object.fromEntries(
      resourcesOfType(json, 'AWS::ECS::Service').map(([, s]) => [
        containers(json).find((c) => c.taskDefinition === s.Properties.TaskDefinition.Ref)!.service,
        s.Properties.DesiredCount,
      ]),
    );
    expect(desired).toEqual({ web: 3, worker: 0, mailer: 1 });
  });

  test('the container port and health check path are honoured', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { Port: 8080, HealthCheckPath: '/health' });
    template.hasResourceProperties('AWS::ECS::Service', { LoadBalancers: [Match.objectLike({ ContainerPort: 8080 })] });
    expect(container(json, 'web').raw.PortMappings).toEqual([{ ContainerPort: 8080, Protocol: 'tcp' }]);
  });

  test('a per-branch environment wins over the data-source variables, and a per-service one over both', () => {
    for (const c of containers(json)) {
      expect(c.environmentNames.filter((n) => n === 'DATABASE_HOST')).toHaveLength(1);
      expect(c.environment.DATABASE_HOST).toBe('db.branch.internal');
      expect(c.environment.REDIS_HOST).toEqual(ssm(json, '/staging/shared/cache/endpoint'));
      expect(c.environment.LOG_LEVEL).toBe(c.service === 'web' ? 'warn' : 'debug');
    }
  });

  test('custom capacity provider strategies are honoured by services and jobs', () => {
    for (const [, s] of resourcesOfType(json, 'AWS::ECS::Service')) {
      expect(s.Properties.CapacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }]);
    }
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 day)',
      Target: { EcsParameters: Match.objectLike({ CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }] }) },
    });
  });
});

describe('FeatureStagingLite, secrets and variables of the same name', () => {
  // ECS refuses a container whose secret shares its name with an environment variable
  // ("The secret name must be unique and not shared with any new or existing environment
  // variables set on the container"), so an override of one must replace the other.
  test('a per-branch environment variable replaces the data-source secret of the same name', () => {
    const { json } = build({ environment: { DATABASE_USERNAME: 'readonly' } });
    for (const c of containers(json)) {
      expect(c.environment.DATABASE_USERNAME).toBe('readonly');
      expect({ service: c.service, names: Object.keys(c.secrets).filter((n) => n in c.environment) }).toEqual({ service: c.service, names: [] });
    }
  });

  test('a per-branch secret replaces the data-source variable of the same name', () => {
    const app = new App();
    const stack = new Stack(app, 'Secrets', { env: ENV });
    const solr = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Solr', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:solr-url-AbCdEf');
    const shared = SharedStagingRef.fromParameters(stack, 'Shared');
    new FeatureStagingLite(stack, 'Staging', {
      branch: BRANCH,
      shared,
      image: ecs.ContainerImage.fromRegistry(IMAGE),
      secrets: { SOLR_URL: ecs.Secret.fromSecretsManager(solr, 'url') },
    });
    const json = Template.fromStack(stack).toJSON();
    for (const c of containers(json)) {
      expect(c.secrets.SOLR_URL).toBeDefined();
      expect({ service: c.service, names: Object.keys(c.secrets).filter((n) => n in c.environment) }).toEqual({ service: c.service, names: [] });
    }
  });
});

describe('FeatureStagingLite with another prefix and an awkward branch', () => {
  const branch = 'Feature/Ünï#42';
  const names = StagingNames.fromBranch(branch, 'preview');
  let built: Built;

  beforeAll(() => {
    built = build({ branch, workers: [], scheduledJobs: [] }, { prefix: 'preview' });
  });

  test('tags the stack with the branch encoded to tag rules and the prefix', () => {
    const tags = built.app.synth().getStackByName(names.stackName).tags;
    expect(tags).toEqual({
      [TagKeys.KIND]: 'feature-lite',
      [TagKeys.NAME]: names.name,
      [TagKeys.BRANCH]: 'Feature/+C3+9Cn+C3+AF+2342',
      [TagKeys.PREFIX]: 'preview',
      [TagKeys.MANAGED_BY]: 'cdk-multi-staging',
    });
    expect(names.name).toMatch(/^feature-uni-42-[0-9a-f]{8}$/);
  });

  test('reads the shared staging below its prefix and names log groups after it', () => {
    const { json, template } = built;
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/preview/${names.name}/web` });
    template.hasResourceProperties('Custom::StagingListenerRule', {
      ServiceToken: ssm(json, '/preview/shared/providers/listener-priority/service-token'),
      HostHeader: join(`${names.name}.`, ssm(json, '/preview/shared/domain-name')),
    });
    expect(container(json, 'web').environment.BRANCH_NAME).toBe(branch);
    template.resourceCountIs('AWS::ECS::Service', 1);
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });
});

describe('StagingCostPerDay of values known only at deploy (a bare stack, no staging: cheap)', () => {
  const costOf = (stack: Stack) => {
    addCostOutput(stack);
    new CfnResource(stack, 'Logs', { type: 'AWS::Logs::LogGroup', properties: { RetentionInDays: 7 } });
    return Template.fromStack(stack).toJSON().Outputs[FeatureOutputs.COST_PER_DAY].Value;
  };

  test('an environment-agnostic stack: no region to price in, said so', () => {
    expect(costOf(new Stack(new App(), 'Agnostic'))).toBe(
      '$0.00/day awake, $0.00/day asleep (unknown-region, prices as of 2026-09-29); no price for region unknown-region (the table has us-east-1, eu-west-1)',
    );
  });

  test('an instance class read from SSM: that item has no price, the rest is priced', () => {
    const stack = new Stack(new App(), 'FromSsm', { env: ENV });
    const dbClass = new CfnParameter(stack, 'DbClass', { type: 'AWS::SSM::Parameter::Value<String>', default: '/staging/db-class' });
    new CfnResource(stack, 'Db', { type: 'AWS::RDS::DBInstance', properties: { DBInstanceClass: dbClass.valueAsString, Engine: 'postgres', AllocatedStorage: '20' } });
    const value = costOf(stack);
    const storage = (20 * 0.127) / 30.42;
    const logGroup = 0.01 * 0.57 + (0.01 * 7 * 0.03) / 30.42;
    expect(value).toMatch(/^\$(\d+\.\d\d)\/day awake, \$(\d+\.\d\d)\/day asleep \(eu-west-1, prices as of 2026-09-29\); no price for RDS PostgreSQL <set at deploy: Ref DbClass> in eu-west-1$/);
    expect(value.slice(0, 5)).toBe(`$${(storage + logGroup).toFixed(2)}`);
  });
});

describe('FeatureStagingLite in a plain Stack of the user\'s own', () => {
  let built: Built;
  let json: any;
  beforeAll(() => {
    built = build({}, { plainStack: true, validate: true });
    json = built.json;
  });

  test('writes nothing stack-wide: no stack tags, no outputs, no kind lock (README, "A staging in your own stack")', () => {
    expect(built.stack.tags.tagValues()).toEqual({});
    expect(json.Outputs).toBeUndefined();
    expect(resourcesOfType(json, 'AWS::SSM::Parameter').filter(([id]) => id.startsWith('KindIs'))).toEqual([]);
  });

  test('tags its own resources and makes them wait for its quota check', () => {
    const [, service] = resourcesOfType(json, 'AWS::ECS::Service')[0];
    expect(Object.fromEntries((service.Properties.Tags as Array<{ Key: string; Value: string }>).map((t) => [t.Key, t.Value]))).toEqual(built.staging.stagingTags);
    expect(notAfterQuota(json)).toEqual([]);
  });

  test('warns, with an id to acknowledge, that the stack lacks the tags the sweeper reads; nothing else is found', () => {
    expect(built.findings).toEqual([
      expect.stringMatching(
        /^Construct Annotations Annotation::cdk-multi-staging:untaggedStack \(warning\) at Feature\/Staging: Stack "Feature" does not carry the tags of the branch staging "feature-new-cool-page-[0-9a-f]{8}" \(missing staging:kind=feature-lite, .*\), so the sweeper, the sleeper and `staging list` will not find it; put the staging in a BranchStagingStack, or tag the stack with its stagingTags/,
      ),
    ]);
  });

  test('once the user tags the stack with stagingTags, the warning is gone', () => {
    const app = new App();
    const stack = new Stack(app, 'Mine', { stackName: NAMES.stackName, env: ENV });
    const staging = new FeatureStagingLite(stack, 'Staging', { branch: BRANCH, shared: SharedStagingRef.fromParameters(stack, 'Shared'), image: ecs.ContainerImage.fromRegistry(IMAGE) });
    for (const [key, value] of Object.entries(staging.stagingTags)) stack.tags.setTag(key, value);
    app.synth();
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('a staging the sweeper must never see acknowledges the warning', () => {
    const app = new App();
    const stack = new Stack(app, 'Mine', { stackName: NAMES.stackName, env: ENV });
    const staging = new FeatureStagingLite(stack, 'Staging', { branch: BRANCH, shared: SharedStagingRef.fromParameters(stack, 'Shared'), image: ecs.ContainerImage.fromRegistry(IMAGE) });
    CdkAnnotations.of(staging).acknowledgeWarning('cdk-multi-staging:untaggedStack');
    app.synth();
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('a resource of the user\'s own in that stack does not wait for the quota: that ordering is the user\'s job', () => {
    const app = new App();
    const stack = new Stack(app, 'Mine', { stackName: NAMES.stackName, env: ENV });
    new FeatureStagingLite(stack, 'Staging', { branch: BRANCH, shared: SharedStagingRef.fromParameters(stack, 'Shared'), image: ecs.ContainerImage.fromRegistry(IMAGE) });
    new CfnResource(stack, 'Mine', { type: 'AWS::SNS::Topic' });
    expect(notAfterQuota(Template.fromStack(stack).toJSON())).toEqual(['Mine']);
  });

  test('two branch stagings may share a plain stack', () => {
    const stack = new Stack(new App(), 'Two', { env: ENV });
    const shared = SharedStagingRef.fromParameters(stack, 'Shared');
    const image = ecs.ContainerImage.fromRegistry(IMAGE);
    new FeatureStagingLite(stack, 'One', { branch: 'feature/one', shared, image });
    expect(() => new FeatureStagingLite(stack, 'Other', { branch: 'feature/two', shared, image })).not.toThrow();
  });
});
