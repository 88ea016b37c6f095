/**
 * Integration test: the shared staging with a full branch (a template database on the shared
 * Postgres, a key prefix on the shared Valkey) and a lite branch, built from the library's
 * constructs the way examples/ build them.
 *
 * Offline (`npm run integ`, every CI run) integ-runner synthesizes this app and compares it with
 * the committed snapshot in integ.staging.ts.snapshot/. In an account (`npm run integ:deploy`,
 * README "Integration tests in a real account") it deploys the stacks in order, runs the assertions
 * below, then destroys everything.
 *
 * Assertions, in this order (each waits for the one before):
 * 1. both branch URLs answer 200 with their own page (the page names the staging and the branch);
 * 2. the Resource Groups Tagging API finds the lite branch's resources by its staging tags (so the
 *    after-destroy check of `npm run integ:deploy`, scripts/integ-leftovers.ts, searches by tags
 *    that really are on the resources);
 * 3. the sweeper's dry run reports both branches as kept (they were just deployed);
 * 4. the sleeper puts the lite branch to sleep; its URL then answers a browser with the waking page
 *    (200) and any other client with 503 and Retry-After;
 * 5. the sleeper wakes it; its URL answers 200 with its own page again.
 *
 * "After destroy, nothing tagged with the branch remains" cannot be an assertion here: assertions
 * run in a stack that is destroyed before the stacks under test. `npm run integ:deploy` checks it
 * after integ-runner has destroyed everything (scripts/integ-leftovers.ts, same tags).
 */
import { Duration, RemovalPolicies, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { FeatureStaging, FeatureStagingLite, SharedStaging, StagingAccess, SharedStagingRef, StagingCache, StagingDatabase, StagingNames, StagingSearch, TagKeys } from '../../lib';
import { GoldenRefresh } from './golden-refresh';
import { INTEG_STAGINGS, PAGE_MARKER, branchPageImage, integApp, integSettings, synthForIntegRunner } from './integ-env';

const PREFIX = INTEG_STAGINGS.staging.prefix;
const FULL_BRANCH = INTEG_STAGINGS.staging.branches.full;
const LITE_BRANCH = INTEG_STAGINGS.staging.branches.lite;

const settings = integSettings();
const env = { region: settings.region };
const app = integApp();

// The shared staging, as examples/frontend-lite builds it, with the golden template for full branches.
const sharedStack = new Stack(app, 'IntegSharedStaging', {
  stackName: `${PREFIX}-shared`,
  description: 'cdk-multi-staging integ test: the shared staging',
  env,
});
const shared = new SharedStaging(sharedStack, 'Staging', {
  // Open on purpose: the assertions call the URLs from a Lambda function, which can't sign in.
  // The lock itself is proven offline (test/staging-access.test.ts, the listener-priority handler tests).
  access: StagingAccess.publicAccess(),
  prefix: PREFIX,
  domainName: settings.domainName,
  hostedZone: route53.HostedZone.fromHostedZoneAttributes(sharedStack, 'Zone', {
    hostedZoneId: settings.hostedZoneId,
    zoneName: settings.hostedZoneName,
  }),
  // Only handed to containers as SOLR_URL; nothing in this test calls it.
  solr: { url: 'https://solr.internal.example.com:8983/solr' },
  app: { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/nginx:1.27'), web: { name: 'web' } },
  databaseTemplate: {},
});
// Test only: the shared staging keeps its data on destroy (retained, deletion-protected), as it
// should for users. The test's own shared staging is disposable, or every run would leave a
// Postgres and a Valkey behind and the next run would collide with their names. Only the access-log
// bucket stays (it is not empty once the load balancer has logged; README says how to empty it).
RemovalPolicies.of(sharedStack).destroy({ excludeResourceTypes: ['AWS::S3::Bucket'] });
(shared.database.node.defaultChild as rds.CfnDBInstance).deletionProtection = false;

// The golden template must be refreshed once before a template branch can be created.
const refreshStack = new Stack(app, 'IntegGoldenRefresh', {
  stackName: `${PREFIX}-golden-refresh`,
  description: 'cdk-multi-staging integ test: runs the golden-template refresh once',
  env,
});
new GoldenRefresh(refreshStack, 'Refresh', { prefix: PREFIX, parameterPrefix: shared.parameterPrefix });
refreshStack.addStackDependency(sharedStack, 'reads the shared staging from SSM');

const page = branchPageImage();

function branchStack(branch: string, why: string): { stack: Stack; names: StagingNames } {
  const names = StagingNames.fromBranch(branch, PREFIX);
  // The stack must be named `names.stackName`: the sweeper matches it.
  const stack = new Stack(app, names.stackName, { stackName: names.stackName, description: `cdk-multi-staging integ test: ${why}`, env });
  // Deploy order only: a branch reads the shared staging from SSM when it deploys, never an export.
  stack.addStackDependency(sharedStack, 'reads the shared staging from SSM');
  return { stack, names };
}

const full = branchStack(FULL_BRANCH, 'a full branch on a template database and a cache key prefix');
full.stack.addStackDependency(refreshStack, 'the golden template exists');
new FeatureStaging(full.stack, 'Staging', {
  branch: FULL_BRANCH,
  shared: SharedStagingRef.fromParameters(full.stack, 'Shared', { prefix: PREFIX }),
  image: page.image,
  web: { name: 'web', command: page.command },
  database: StagingDatabase.fromTemplate(),
  cache: StagingCache.sharedPrefix(),
  search: StagingSearch.shared(),
});

const lite = branchStack(LITE_BRANCH, 'a lite branch on the shared data');
new FeatureStagingLite(lite.stack, 'Staging', {
  branch: LITE_BRANCH,
  shared: SharedStagingRef.fromParameters(lite.stack, 'Shared', { prefix: PREFIX }),
  image: page.image,
  web: { name: 'web', command: page.command },
  // The test puts it to sleep by hand; the idle sleep must not race it.
  sleepAfter: Duration.hours(6),
});

const integ = new IntegTest(app, 'StagingInteg', {
  testCases: [sharedStack, refreshStack, full.stack, lite.stack],
  // Destroy without asking; what it removes is the stacks' removal policies (the shared staging's
  // made disposable above, all but its access-log bucket).
  cdkCommandOptions: { destroy: { args: { force: true } } },
  // A deploy starts from nothing: the committed snapshot holds example values, not the account's.
  stackUpdateWorkflow: false,
  diffAssets: false,
  regions: [settings.region],
  // In the stacks' region, so that it may read the sweeper's and the sleeper's function names.
  assertionStack: new Stack(app, 'IntegStagingAssertions', { stackName: `${PREFIX}-assertions`, env }),
});
const assertions = integ.assertions;

// The URLs from the example or maintainer's domain: concrete strings, so the assertion stack imports
// nothing from the branch stacks (their `url` reads the domain from SSM at deploy time).
const fullUrl = `https://${full.names.hostName(settings.domainName)}/`;
const liteUrl = `https://${lite.names.hostName(settings.domainName)}/`;

/** The branch's own page: 200 and the page naming its staging and branch. */
const ownPage = (names: StagingNames, branch: string) =>
  ExpectedResult.objectLike({
    apiCallResponse: {
      status: 200,
      body: Match.stringLikeRegexp(`${PAGE_MARKER}.*staging=${names.name} branch=${branch.replace(/[/]/g, '\\/')}`),
    },
  });
const waitLong = { totalTimeout: Duration.minutes(15), interval: Duration.seconds(20) };

// 1. Both branches answer with their own page (DNS and the first health checks can take minutes).
const fullUp = assertions.httpApiCall(fullUrl).expect(ownPage(full.names, FULL_BRANCH)).waitForAssertions(waitLong);
const liteUp = assertions.httpApiCall(liteUrl).expect(ownPage(lite.names, LITE_BRANCH)).waitForAssertions(waitLong);

// 2. The lite branch's resources carry its staging tags, where the after-destroy check looks.
const tagged = assertions
  .awsApiCall('ResourceGroupsTaggingAPI', 'getResources', {
    TagFilters: [
      { Key: TagKeys.PREFIX, Values: [PREFIX] },
      { Key: TagKeys.NAME, Values: [lite.names.name] },
    ],
  })
  .expect(ExpectedResult.objectLike({ ResourceTagMappingList: Match.arrayWith([Match.objectLike({ ResourceARN: Match.stringLikeRegexp(':ecs:') })]) }));
// integ-tests-alpha derives `tagging:GetResources` from the service name; the IAM action is `tag:GetResources`.
tagged.provider.addToRolePolicy({ Effect: 'Allow', Action: ['tag:GetResources'], Resource: ['*'] });

// 3. The sweeper's dry run keeps both branches: just deployed, so active.
const sweeperDryRun = assertions
  .invokeFunction({ functionName: shared.sweeper!.function.functionName, payload: JSON.stringify({ dryRun: true }) })
  .expect(
    ExpectedResult.objectLike({
      Payload: Match.serializedJson(Match.objectLike({
        dryRun: true,
        stagings: Match.arrayWith([
          Match.objectLike({ stagingName: full.names.name, action: 'keep' }),
          Match.objectLike({ stagingName: lite.names.name, action: 'keep' }),
        ]),
      })),
    }),
  );

// 4. Sleep: services at zero, the rule forwards to the waker.
const sleeper = shared.sleeper.sleeperFunction.functionName;
const sleep = assertions
  .invokeFunction({ functionName: sleeper, payload: JSON.stringify({ sleep: lite.names.name }) })
  .expect(ExpectedResult.objectLike({ Payload: Match.serializedJson(Match.objectLike({ action: 'sleep', stagingName: lite.names.name, state: 'sleeping' })) }));
const browserSeesWakingPage = assertions
  .httpApiCall(liteUrl, { headers: { Accept: 'text/html' } })
  .expect(
    ExpectedResult.objectLike({
      apiCallResponse: { status: 200, body: Match.stringLikeRegexp(`<title>Starting ${lite.names.name}`) },
    }),
  );
const programGets503 = assertions
  .httpApiCall(liteUrl, { headers: { Accept: 'application/json' } })
  .expect(ExpectedResult.objectLike({ apiCallResponse: { status: 503, headers: { 'retry-after': Match.arrayWith([Match.stringLikeRegexp('^[0-9]+$')]) } } }));

// 5. Wake (the visits above may already have started it: then nothing changes) and answer again.
const wake = assertions
  .invokeFunction({ functionName: sleeper, payload: JSON.stringify({ wake: lite.names.name }) })
  .expect(ExpectedResult.objectLike({ Payload: Match.serializedJson(Match.objectLike({ action: 'wake', stagingName: lite.names.name, state: Match.stringLikeRegexp('^(waking|awake)$') })) }));
const awakeAgain = assertions.httpApiCall(liteUrl).expect(ownPage(lite.names, LITE_BRANCH)).waitForAssertions(waitLong);

fullUp.next(liteUp).next(tagged).next(sweeperDryRun).next(sleep).next(browserSeesWakingPage).next(programGets503).next(wake).next(awakeAgain);

synthForIntegRunner(app);
