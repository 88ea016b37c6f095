/**
 * Integration test: a StagingSweeper on its own, deployed in dry run, next to a stand-in branch
 * staging (a stack named and tagged as a feature staging of the sweeper's prefix, holding one SSM
 * parameter: the sweeper judges stacks by name, tags and activity, not by what they hold).
 *
 * Offline (`npm run integ`) integ-runner compares the synthesized app with integ.sweeper.ts.snapshot/.
 * In an account (`npm run integ:deploy`) it deploys both stacks and asserts that:
 * 1. a manual dry run (`{"dryRun": true}`) reports the stand-in as a feature staging and keeps it
 *    (just deployed: active);
 * 2. `{"dryRun": false}` cannot turn the dry-run deployment into a real run: the report still says
 *    `dryRun: true` and deletes nothing;
 * 3. a stack with the prefix but without the feature tags is reported as ignored, never touched;
 * 4. after both runs the stand-in still exists (CloudFormation DescribeStacks).
 */
import { Stack, Tags } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { MANAGED_BY_VALUE, StagingKinds, TagKeys } from '../../lib/contract/staging';
import { StagingNames, StagingSweeper } from '../../lib';
import { INTEG_STAGINGS, integApp, integSettings, synthForIntegRunner } from './integ-env';

const PREFIX = INTEG_STAGINGS.sweeper.prefix;
const BRANCH = INTEG_STAGINGS.sweeper.branches.kept;

const settings = integSettings();
const env = { region: settings.region };
const app = integApp();

const sweeperStack = new Stack(app, 'IntegSweeper', { stackName: `${PREFIX}-sweeper-tool`, description: 'cdk-multi-staging integ test: the sweeper in dry run', env });
// `integsweep-sweeper-tool` has the prefix but no feature tags: the sweeper must ignore it (assertion 3).
const sweeper = new StagingSweeper(sweeperStack, 'Sweeper', { prefix: PREFIX, dryRun: true });

/** A stand-in for a branch staging: the name and tags FeatureStaging gives its stack, and one cheap resource. */
const names = StagingNames.fromBranch(BRANCH, PREFIX);
const branchStack = new Stack(app, names.stackName, { stackName: names.stackName, description: 'cdk-multi-staging integ test: a stand-in branch staging', env });
Tags.of(branchStack).add(TagKeys.KIND, StagingKinds.FEATURE_LITE);
Tags.of(branchStack).add(TagKeys.NAME, names.name);
Tags.of(branchStack).add(TagKeys.BRANCH, names.branchTagValue);
Tags.of(branchStack).add(TagKeys.PREFIX, PREFIX);
Tags.of(branchStack).add(TagKeys.MANAGED_BY, MANAGED_BY_VALUE);
new ssm.StringParameter(branchStack, 'Marker', { parameterName: `/${PREFIX}/integ/${names.name}`, stringValue: 'stand-in branch staging' });

const integ = new IntegTest(app, 'SweeperInteg', {
  testCases: [sweeperStack, branchStack],
  diffAssets: false,
  regions: [settings.region],
  stackUpdateWorkflow: false,
  assertionStack: new Stack(app, 'IntegSweeperAssertions', { stackName: `${PREFIX}-assertions`, env }),
});

const kept = ExpectedResult.objectLike({
  Payload: Match.serializedJson(Match.objectLike({
    dryRun: true,
    prefix: PREFIX,
    counts: Match.objectLike({ deleted: 0 }),
    stagings: Match.arrayWith([Match.objectLike({ stackName: names.stackName, stagingName: names.name, branch: BRANCH, action: 'keep' })]),
    ignored: Match.arrayWith([Match.objectLike({ stackName: sweeperStack.stackName })]),
  })),
});
const preview = integ.assertions.invokeFunction({ functionName: sweeper.function.functionName, payload: JSON.stringify({ dryRun: true }) }).expect(kept);
const notOverridden = integ.assertions.invokeFunction({ functionName: sweeper.function.functionName, payload: JSON.stringify({ dryRun: false }) }).expect(kept);
const stillThere = integ.assertions
  .awsApiCall('CloudFormation', 'describeStacks', { StackName: names.stackName })
  .expect(ExpectedResult.objectLike({ Stacks: Match.arrayWith([Match.objectLike({ StackName: names.stackName, StackStatus: 'CREATE_COMPLETE' })]) }));
preview.next(notOverridden).next(stillThere);

synthForIntegRunner(app);
