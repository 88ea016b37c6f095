import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { StagingSweeper, StagingSweeperProps } from '../lib/staging-sweeper';
import { formatFindings, testApp, validationFindings } from './util/validate';

const ENV = { account: '123456789012', region: 'eu-west-1' };

function synth(props: StagingSweeperProps = {}) {
  const app = testApp();
  const stack = new Stack(app, 'Shared', { env: ENV });
  const sweeper = new StagingSweeper(stack, 'Sweeper', props);
  return { app, stack, sweeper, template: Template.fromStack(stack) };
}

/** An ARN of the stack's own environment, as `Stack.formatArn` (StagingArns) writes it. */
const stackArn = (service: string, rest: string) => `arn:aws:${service}:${ENV.region}:${ENV.account}:${rest}`;

/** `arn:<partition>:<service>:<region>:<account>:<rest>` with pseudo parameters (the SSM paths). */
const arnOf = (service: string, rest: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${rest}`]],
});

function statementsOf(template: Template, rolePattern: RegExp): any[] {
  return Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([, r]) => r.Properties.Roles.some((ref: any) => rolePattern.test(ref.Ref)))
    .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
}

const actionsOf = (s: any): string[] => [s.Action].flat();

describe('the sweeper function role', () => {
  const { template, stack } = synth();
  const statements = statementsOf(template, /FunctionRole/);

  test('DeleteStack only on <prefix>-* stacks tagged as feature stagings, only with the deletion role', () => {
    const deletes = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('cloudformation:Delete') || a === 'cloudformation:*' || a === '*'));
    expect(deletes).toEqual([
      {
        Sid: 'DeleteTaggedFeatureStacksOnly',
        Effect: 'Allow',
        Action: 'cloudformation:DeleteStack',
        Resource: stackArn('cloudformation', 'stack/staging-*/*'),
        Condition: {
          StringEquals: {
            'aws:ResourceTag/staging:kind': ['feature', 'feature-lite'],
            'aws:ResourceTag/staging:prefix': 'staging',
          },
          ArnEquals: { 'cloudformation:RoleArn': { 'Fn::GetAtt': [stack.getLogicalId(findDeletionRole(stack)), 'Arn'] } },
        },
      },
      // `staging-*` matches the shared stack too: denied by name and by its tag.
      { Sid: 'NeverDeleteTheSharedStack', Effect: 'Deny', Action: 'cloudformation:DeleteStack', Resource: stackArn('cloudformation', 'stack/staging-shared/*') },
      {
        Sid: 'NeverDeleteSharedStacks',
        Effect: 'Deny',
        Action: 'cloudformation:DeleteStack',
        Resource: '*',
        Condition: { StringEquals: { 'aws:ResourceTag/staging:kind': 'shared' } },
      },
    ]);
  });

  test('iam:PassRole on exactly the deletion role, to CloudFormation only', () => {
    const passes = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('iam:')));
    expect(passes).toEqual([
      {
        Sid: 'PassDeletionRoleToCloudFormation',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: { 'Fn::GetAtt': [stack.getLogicalId(findDeletionRole(stack)), 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
      },
    ]);
  });

  test('writes SSM only below <parameterPrefix>/sweeper, and metrics only in its namespace', () => {
    const ssmWrites = statements.filter((s) => actionsOf(s).some((a) => /^ssm:(Put|Delete)/.test(a)));
    expect(ssmWrites).toEqual([
      expect.objectContaining({ Action: ['ssm:DeleteParameters', 'ssm:PutParameter'], Resource: arnOf('ssm', 'parameter/staging/sweeper/*') }),
    ]);
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'cloudwatch:PutMetricData', Condition: { StringEquals: { 'cloudwatch:namespace': 'CdkMultiStaging/StagingSweeper' } } }),
    );
    const reads = statements.find((s) => s.Action === 'ssm:GetParametersByPath');
    const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();
    expect(sorted(reads.Resource)).toEqual(
      sorted(['pins', 'pins/*', 'keep-alive', 'keep-alive/*', 'sweeper', 'sweeper/*'].map((p) => arnOf('ssm', `parameter/staging/${p}`))),
    );
  });

  test('holds nothing beyond the listed actions', () => {
    expect([...new Set(statements.flatMap(actionsOf))].sort()).toEqual(
      [
        'cloudformation:DeleteStack',
        'cloudformation:DescribeStacks',
        'cloudformation:ListStackResources',
        'cloudformation:ListStacks',
        'cloudwatch:GetMetricData',
        'cloudwatch:PutMetricData',
        'iam:PassRole',
        'kms:Decrypt',
        'kms:GenerateDataKey*',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sns:Publish',
        'ssm:DeleteParameters',
        'ssm:GetParametersByPath',
        'ssm:PutParameter',
      ].sort(),
    );
    expect(template.findResources('AWS::IAM::Role', { Properties: { ManagedPolicyArns: Match.anyValue() } })).toEqual({});
  });
});

function findDeletionRole(stack: Stack) {
  return (stack.node.findChild('Sweeper') as StagingSweeper).deletionRole.node.defaultChild as any;
}

describe('the CloudFormation deletion role', () => {
  const { template, sweeper, stack } = synth();
  const statements = statementsOf(template, /DeletionRole/);

  test('is assumable by CloudFormation only', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'cloudformation.amazonaws.com' } }],
      },
      Description: Match.stringLikeRegexp('deletes staging-\\* feature stacks'),
    });
    expect(stack.resolve(sweeper.deletionRole.roleArn)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(findDeletionRole(stack)), 'Arn'] });
  });

  test('can describe and delete, never create, put or modify (except what the delete handlers list)', () => {
    const actions = statements.filter((s) => s.Effect === 'Allow').flatMap(actionsOf);
    // Besides describe and delete, the registry schemas' delete handlers list: UpdateService (scale
    // to zero), CreateSnapshot (a final cache snapshot), TagRole/UntagRole, PassRole (task
    // definitions; feature roles to ECS tasks only) and RemoveRegionsFromReplication (secrets).
    const allowed =
      /^[a-z0-9-]+:(Describe|List|Get|Delete|Deregister|Detach|Revoke|RemoveTargets$|InvokeFunction$|ChangeResourceRecordSets$|UpdateService$|CreateSnapshot$|TagRole$|UntagRole$|PassRole$|RemoveRegionsFromReplication$)/;
    expect(actions.filter((a) => !allowed.test(a))).toEqual([]);
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });

  test('deletes of taggable resources are conditioned on the feature tags', () => {
    expect(statements).toContainEqual(
      expect.objectContaining({
        Sid: 'DeleteTaggedFeatureResources',
        Resource: '*',
        Condition: { StringEquals: { 'aws:ResourceTag/staging:kind': ['feature', 'feature-lite'], 'aws:ResourceTag/staging:prefix': 'staging' } },
      }),
    );
    const unconditioned = statements.filter((s) => s.Effect === 'Allow' && s.Resource === '*' && !s.Condition).flatMap(actionsOf);
    expect(unconditioned.filter((a) => !/:(Describe|List|Get)/.test(a)).sort()).toEqual(
      [
        'application-autoscaling:DeleteScalingPolicy',
        'application-autoscaling:DeleteScheduledAction',
        'application-autoscaling:DeregisterScalableTarget',
        'ecs:DeleteTaskDefinitions',
        'ecs:DeregisterTaskDefinition',
      ].sort(),
    );
  });

  test('DNS changes are limited to DELETE', () => {
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 'route53:ChangeResourceRecordSets',
        Condition: { 'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsActions': ['DELETE'] } },
      }),
    );
  });
});

describe('the function', () => {
  test('runs the bundled handler outside a VPC, one run at a time, with its configuration', () => {
    const { template, stack, sweeper } = synth({
      idleTimeout: Duration.days(5),
      warningPeriod: Duration.hours(12),
      dryRun: true,
      retainResourcesOnDeleteFailed: true,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Timeout: 900,
      ReservedConcurrentExecutions: 1,
      VpcConfig: Match.absent(),
      LoggingConfig: { LogGroup: { Ref: stack.getLogicalId(sweeper.logGroup.node.defaultChild as logs.CfnLogGroup) } },
      Environment: {
        Variables: {
          STAGING_PREFIX: 'staging',
          PARAMETER_PREFIX: '/staging',
          IDLE_TIMEOUT_SECONDS: String(5 * 86400),
          WARNING_PERIOD_SECONDS: String(12 * 3600),
          DRY_RUN: 'true',
          RETAIN_RESOURCES_ON_DELETE_FAILED: 'true',
          TOPIC_ARN: { Ref: Match.stringLikeRegexp('SweeperTopic') },
          DELETION_ROLE_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('SweeperDeletionRole'), 'Arn'] },
          ACCOUNT_ID: { Ref: 'AWS::AccountId' },
          METRIC_NAMESPACE: 'CdkMultiStaging/StagingSweeper',
        },
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
  });

  test('defaults: 3 days idle, 24 hours warning, not a dry run', () => {
    synth().template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ IDLE_TIMEOUT_SECONDS: '259200', WARNING_PERIOD_SECONDS: '86400', DRY_RUN: 'false', RETAIN_RESOURCES_ON_DELETE_FAILED: 'false' }) },
    });
  });
});

describe('the schedule', () => {
  test('hourly by default', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SweeperFunction'), 'Arn'] } })],
    });
  });

  test('configurable', () => {
    const { template } = synth({ schedule: Duration.minutes(30) });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(30 minutes)' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Invocations', Period: 1800, EvaluationPeriods: 2 });
  });
});

describe('the alarms', () => {
  const { template, sweeper, stack } = synth();
  const topic = { Ref: stack.getLogicalId(sweeper.topic.node.defaultChild as sns.CfnTopic) };

  test('"has not run for two periods": Invocations < 1 over 2 periods, missing data breaching', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 2,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [topic],
    });
  });

  test('errors of the function, and stagings it could not handle', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'CdkMultiStaging/StagingSweeper',
      MetricName: 'Failed',
      Dimensions: [{ Name: 'Prefix', Value: 'staging' }],
      Threshold: 1,
      AlarmActions: [topic],
    });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    expect(sweeper.alarms).toHaveLength(3);
  });
});

describe('the topic', () => {
  test('a new topic by default, encrypted with a rotated key CloudWatch alarms may use, TLS only', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('SweeperTopicKey'), 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('or yours', () => {
    const app = testApp();
    const stack = new Stack(app, 'Shared', { env: ENV });
    const topic = sns.Topic.fromTopicArn(stack, 'Ops', 'arn:aws:sns:eu-west-1:123456789012:ops');
    const sweeper = new StagingSweeper(stack, 'Sweeper', { topic, prefix: 'preview', parameterPrefix: '/preview/env' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    expect(sweeper.topic).toBe(topic);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:ops', STAGING_PREFIX: 'preview', PARAMETER_PREFIX: '/preview/env' }) },
    });
    expect(statementsOf(template, /FunctionRole/)).toContainEqual(expect.objectContaining({ Action: 'sns:Publish', Resource: 'arn:aws:sns:eu-west-1:123456789012:ops' }));
    expect(statementsOf(template, /FunctionRole/)).toContainEqual(expect.objectContaining({ Action: 'cloudformation:DeleteStack', Resource: stackArn('cloudformation', 'stack/preview-*/*') }));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:ops'] });
    expect(formatFindings(validationFindings(app))).toEqual([]);
  });
});

describe('validation', () => {
  test('fails when the properties are out of range, naming each one', () => {
    const app = testApp();
    const stack = new Stack(app, 'Shared', { env: ENV });
    expect(
      () =>
        new StagingSweeper(stack, 'Sweeper', {
          prefix: 'Staging_',
          parameterPrefix: 'staging/',
          idleTimeout: Duration.minutes(30),
          warningPeriod: Duration.hours(2),
          schedule: Duration.days(1),
        }),
    ).toThrow(/prefix must be[\s\S]*parameterPrefix must be[\s\S]*idleTimeout must be at least 1 hour[\s\S]*warningPeriod must be[\s\S]*schedule must be whole minutes/);
  });

  test('fails when the warning period is not shorter than the idle timeout', () => {
    const stack = new Stack(testApp(), 'Shared', { env: ENV });
    expect(() => new StagingSweeper(stack, 'Sweeper', { idleTimeout: Duration.days(1), warningPeriod: Duration.days(1) })).toThrow(
      /warningPeriod must be at least 1 minute and shorter than idleTimeout \(got 1 day with an idleTimeout of 1 day\)/,
    );
  });
});

describe('cdk-nag and CloudFormation Validate', () => {
  test('clean, with acknowledgements only on the sweeper\'s own roles', () => {
    const { app } = synth();
    expect(formatFindings(validationFindings(app))).toEqual([]);
  });

  test('clean in an environment-agnostic stack too', () => {
    const app = testApp();
    new StagingSweeper(new Stack(app, 'Agnostic'), 'Sweeper', { schedule: Duration.minutes(15), dryRun: true });
    expect(formatFindings(validationFindings(app))).toEqual([]);
  });
});
