import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { StagingServices, StagingServicesProps } from '../lib';
import { fargateSizeProblem } from '../lib/staging-services';
import { ENV, IMAGE } from './util/harness';
import { container, containers, resourcesOfType } from './util/template';
import { FEATURE_FLAGS } from './util/validate';

/** StagingServices on an imported cluster: the shape the shared app and every branch use. */
function build(overrides: Partial<StagingServicesProps> = {}): { services: StagingServices; json: any } {
  const stack = new Stack(new App({ context: FEATURE_FLAGS }), 'Services', { env: ENV });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    privateSubnetIds: ['subnet-0a1b2c3d4e5f60011', 'subnet-0a1b2c3d4e5f60012'],
  });
  const services = new StagingServices(stack, 'App', {
    cluster: ecs.Cluster.fromClusterAttributes(stack, 'Cluster', { clusterName: 'staging', vpc }),
    vpcSubnets: { subnets: vpc.privateSubnets },
    securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'Sg', 'sg-0123456789abcdef0')],
    image: ecs.ContainerImage.fromRegistry(IMAGE),
    stagingName: 'feature-x-1a2b3c4d',
    stream: 'feature-staging',
    url: 'https://feature-x-1a2b3c4d.staging.example.com',
    branch: 'feature/x',
    logGroupPrefix: '/staging/feature-x-1a2b3c4d/',
    web: { name: 'web' },
    ...overrides,
  });
  return { services, json: Template.fromStack(stack).toJSON() };
}

describe('StagingServices', () => {
  test('the staging variables: name, stream, URL, and the branch only on a branch', () => {
    expect(StagingServices.stagingEnvironment({ stagingName: 'shared', stream: 'shared-staging', url: 'https://shared.x' })).toEqual({
      STAGING_NAME: 'shared',
      STAGING_STREAM: 'shared-staging',
      STAGING_URL: 'https://shared.x',
    });
    expect(StagingServices.stagingEnvironment({ stagingName: 'b', stream: 's', url: 'u', branch: 'feature/b' }).BRANCH_NAME).toBe('feature/b');
  });

  test('a web service, a worker, a job and a release task: one task definition and one log group each, the release never a service', () => {
    const { services, json } = build({
      workers: [{ name: 'Sidekiq Worker', command: ['bundle', 'exec', 'sidekiq'] }],
      scheduledJobs: [{ name: 'nightly', command: ['bin/nightly'], schedule: scheduler.ScheduleExpression.expression('cron(0 3 * * ? *)') }],
      release: { name: 'release', command: ['bin/migrate'] },
      familyPrefix: 'staging-feature-x-1a2b3c4d',
    });
    expect(resourcesOfType(json, 'AWS::ECS::Service')).toHaveLength(2);
    expect(resourcesOfType(json, 'AWS::ECS::TaskDefinition').map(([, t]) => t.Properties.Family).sort()).toEqual([
      'staging-feature-x-1a2b3c4d-nightly',
      'staging-feature-x-1a2b3c4d-release',
      'staging-feature-x-1a2b3c4d-sidekiq-worker',
      'staging-feature-x-1a2b3c4d-web',
    ]);
    expect(resourcesOfType(json, 'AWS::Logs::LogGroup').map(([, l]) => l.Properties.LogGroupName).sort()).toEqual([
      '/staging/feature-x-1a2b3c4d/nightly',
      '/staging/feature-x-1a2b3c4d/release',
      '/staging/feature-x-1a2b3c4d/sidekiq-worker',
      '/staging/feature-x-1a2b3c4d/web',
    ]);
    expect(Object.keys(services.workerServices)).toEqual(['Sidekiq Worker']);
    expect(Object.keys(services.jobTaskDefinitions)).toEqual(['nightly']);
    expect(services.releaseTaskDefinition).toBeDefined();
    expect(container(json, 'web').environment).toMatchObject({ STAGING_NAME: 'feature-x-1a2b3c4d', BRANCH_NAME: 'feature/x', STAGING_SERVICE: 'web' });
  });

  test('logs are kept two weeks and deleted with the stack by default; both can be changed', () => {
    const defaults = build().json;
    const [, log] = resourcesOfType(defaults, 'AWS::Logs::LogGroup')[0];
    expect([log.Properties.RetentionInDays, log.DeletionPolicy]).toEqual([14, 'Delete']);
    const kept = build({ logRetention: logs.RetentionDays.ONE_MONTH, logRemovalPolicy: RemovalPolicy.RETAIN }).json;
    const [, retained] = resourcesOfType(kept, 'AWS::Logs::LogGroup')[0];
    expect([retained.Properties.RetentionInDays, retained.DeletionPolicy]).toEqual([30, 'Retain']);
  });

  test('the first task of each service on-demand, further ones mostly on Spot, unless told otherwise', () => {
    const [, web] = resourcesOfType(build().json, 'AWS::ECS::Service')[0];
    expect(web.Properties.CapacityProviderStrategy).toEqual([
      expect.objectContaining({ CapacityProvider: 'FARGATE', Base: 1 }),
      expect.objectContaining({ CapacityProvider: 'FARGATE_SPOT' }),
    ]);
    const [, spot] = resourcesOfType(build({ capacityProviderStrategies: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }] }).json, 'AWS::ECS::Service')[0];
    expect(spot.Properties.CapacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }]);
  });

  test('the app\'s environment wins over the staging variables, and a service\'s over both', () => {
    const { json } = build({ environment: { STAGING_URL: 'https://elsewhere', A: 'app' }, web: { name: 'web', environment: { A: 'web' } } });
    expect(containers(json)[0].environment).toMatchObject({ STAGING_URL: 'https://elsewhere', A: 'web' });
  });

  test('fails on unnamed, duplicate, negative and non-Fargate services, every problem at once', () => {
    expect(() =>
      build({
        web: { name: 'web', desiredCount: -1 },
        workers: [{ name: '!!' }, { name: 'Web' }, { name: 'big', cpu: 256, memoryLimitMiB: 4096 }],
      }),
    ).toThrow(
      /service name must contain letters or digits \(got "!!"\)[\s\S]*service names must be unique \(got "web" twice\)[\s\S]*desiredCount of "web" must be a whole number >= 0 \(got -1\)[\s\S]*service "big": cpu 256 with memoryLimitMiB 4096 is not a Fargate size; with cpu 256 use memoryLimitMiB 512, 1024, 2048/,
    );
  });

  test.each([
    [256, 512, undefined],
    [1024, 3072, undefined],
    [300, 512, /cpu must be one of 256, 512, .* \(got 300\)/],
    [4096, 4096, /with cpu 4096 use memoryLimitMiB 8192 to 30720 in steps of 1024 \(got 4096\)/],
  ])('fargateSizeProblem(%d, %d)', (cpu, memory, problem) => {
    const found = fargateSizeProblem(cpu, memory);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});
