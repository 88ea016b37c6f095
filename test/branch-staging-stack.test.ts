import { App, CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { BranchStagingStack, BranchStagingStackProps, FeatureStaging, FeatureStagingLite, StagingCache, StagingDatabase, StagingKinds, StagingNames, TagKeys } from '../lib';
import { FeatureOutputs, MANAGED_BY_VALUE } from '../lib/contract/staging';
import { BRANCH, branchProps, ENV, NAMES } from './util/harness';
import { notAfterQuota, onlyId, resourcesOfType } from './util/template';
import { FEATURE_FLAGS } from './util/validate';

function newStack(props: Omit<BranchStagingStackProps, 'branch'> & { branch?: string } = {}): BranchStagingStack {
  return new BranchStagingStack(new App({ context: FEATURE_FLAGS }), { branch: BRANCH, env: ENV, ...props });
}

const lite = (stack: BranchStagingStack, id = 'Staging') => new FeatureStagingLite(stack, id, branchProps(stack.names.branch, stack.shared));
/** A FeatureStaging whose data is cheap to synthesize: the shared database and a key prefix. */
const full = (stack: BranchStagingStack, id = 'Staging') =>
  new FeatureStaging(stack, id, { ...branchProps(stack.names.branch, stack.shared), database: StagingDatabase.shared(), cache: StagingCache.sharedPrefix() });

/** The kind-lock parameters, as [logical ID, name, value]. */
function kindLocks(json: any): Array<[string, string, string]> {
  return resourcesOfType(json, 'AWS::SSM::Parameter')
    .filter(([id]) => id.startsWith('KindIs'))
    .map(([id, r]) => [id, r.Properties.Name, r.Properties.Value]);
}

describe('BranchStagingStack', () => {
  test('is named <prefix>-<staging name>, its construct id too, and reads the shared staging below its prefix', () => {
    const stack = newStack({ prefix: 'preview' });
    const names = StagingNames.fromBranch(BRANCH, 'preview');
    expect([stack.node.id, stack.stackName, stack.names.name, stack.shared.prefix, stack.shared.parameterPrefix]).toEqual([
      names.stackName,
      names.stackName,
      names.name,
      'preview',
      '/preview',
    ]);
    expect(BranchStagingStack.isBranchStagingStack(stack)).toBe(true);
    expect(BranchStagingStack.isBranchStagingStack(new App())).toBe(false);
  });

  test('fails when stackName is not <prefix>-<staging name>, naming the value and the fix', () => {
    expect(() => new BranchStagingStack(new App(), { branch: BRANCH, stackName: 'my-branch' })).toThrow(
      new RegExp(`stackName must be "${NAMES.stackName}" for branch "feature/new_cool_page" \\(got "my-branch"\\); .*leave stackName out`),
    );
    expect(() => new BranchStagingStack(new App(), { branch: BRANCH, stackName: NAMES.stackName })).not.toThrow();
  });

  test('fails on an empty branch or a bad prefix, naming each', () => {
    expect(() => new BranchStagingStack(new App(), { branch: ' ', prefix: 'Bad' })).toThrow(/branch must not be empty[\s\S]*prefix must be .*"Bad"/);
  });

  describe('with a FeatureStagingLite in it', () => {
    let stack: BranchStagingStack;
    let json: any;
    beforeAll(() => {
      stack = newStack();
      lite(stack);
      // A resource of the app's own, next to the staging.
      new sqs.Queue(stack, 'AppQueue', { enforceSSL: true });
      json = Template.fromStack(stack).toJSON();
    });

    test('knows its kind', () => {
      expect(stack.kind).toBe(StagingKinds.FEATURE_LITE);
      expect(newStack().kind).toBeUndefined();
    });

    test('tags itself as the staging: kind, name, branch, prefix and manager (what the sweeper reads)', () => {
      expect(stack.tags.tagValues()).toEqual({
        [TagKeys.KIND]: StagingKinds.FEATURE_LITE,
        [TagKeys.NAME]: NAMES.name,
        [TagKeys.BRANCH]: NAMES.branchTagValue,
        [TagKeys.PREFIX]: 'staging',
        [TagKeys.MANAGED_BY]: MANAGED_BY_VALUE,
      });
    });

    test('tags every taggable resource, the app\'s own included', () => {
      const queue = json.Resources[onlyId(json, 'AWS::SQS::Queue')];
      expect(Object.fromEntries((queue.Properties.Tags as Array<{ Key: string; Value: string }>).map((t) => [t.Key, t.Value]))).toEqual(stack.tags.tagValues());
    });

    test('outputs the URL, the console command, the sweeper\'s CloudWatch dimensions and the cost, without exports', () => {
      const deployInfo: string[] = [FeatureOutputs.COMMIT, FeatureOutputs.PULL_REQUEST, FeatureOutputs.IMAGE];
      expect(Object.keys(json.Outputs).sort()).toEqual(Object.values(FeatureOutputs).filter((o) => !deployInfo.includes(o)).sort());
      for (const output of Object.values(json.Outputs as Record<string, any>)) expect(output.Export).toBeUndefined();
    });

    test('every resource, the app\'s own included, waits for the quota check', () => {
      expect(notAfterQuota(json)).toEqual([]);
      expect(json.Resources[onlyId(json, 'AWS::SQS::Queue')].DependsOn).toEqual([onlyId(json, 'Custom::StagingQuota')]);
    });

    test('records its kind where a deploy of the other kind collides', () => {
      expect(kindLocks(json)).toEqual([['KindIsLiteSwitchWithAllowKindSwitch', `/staging/branches/${NAMES.name}/kind`, 'feature-lite']]);
    });

    test('fails when a second staging is built in it, naming both and the fix', () => {
      expect(() => lite(stack, 'Second')).toThrow(
        new RegExp(`already holds the staging "${NAMES.name}"; put each branch staging \\(here "${NAMES.name}"\\) in its own stack`),
      );
    });
  });

  test('a FeatureStaging records its kind under the same name, in a resource of its own', () => {
    const stack = newStack();
    full(stack);
    expect(stack.kind).toBe(StagingKinds.FEATURE);
    expect(kindLocks(Template.fromStack(stack).toJSON())).toEqual([['KindIsFullSwitchWithAllowKindSwitch', `/staging/branches/${NAMES.name}/kind`, 'feature']]);
  });

  test('allowKindSwitch leaves the kind record out, and nothing else', () => {
    const [locked, switching] = [newStack(), newStack({ allowKindSwitch: true })];
    full(locked);
    full(switching);
    const withLock = Template.fromStack(locked).toJSON();
    const withoutLock = Template.fromStack(switching).toJSON();
    expect(kindLocks(withoutLock)).toEqual([]);
    delete withLock.Resources.KindIsFullSwitchWithAllowKindSwitch;
    expect(withoutLock).toEqual(withLock);
  });

  describe('the last deploy\'s commit, pull request and image', () => {
    const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:3f2a1bc0d9e8';
    const COMMIT = '3f2a1bc0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4';

    test('become the outputs StagingCommit, StagingPullRequest and StagingImage, without exports; nothing else changes', () => {
      const [plain, informed] = [newStack(), newStack({ commit: COMMIT, pullRequest: '12', image: IMAGE })];
      lite(plain);
      lite(informed);
      const without = Template.fromStack(plain).toJSON();
      const withInfo = Template.fromStack(informed).toJSON();
      const added = (name: string) => ({ [name]: withInfo.Outputs[name] });
      expect({ ...added(FeatureOutputs.COMMIT), ...added(FeatureOutputs.PULL_REQUEST), ...added(FeatureOutputs.IMAGE) }).toEqual({
        [FeatureOutputs.COMMIT]: { Description: 'The git commit this branch staging was last deployed from', Value: COMMIT },
        [FeatureOutputs.PULL_REQUEST]: { Description: 'The pull request this branch staging was last deployed for', Value: '12' },
        [FeatureOutputs.IMAGE]: { Description: 'The image this branch staging was last deployed with', Value: IMAGE },
      });
      for (const name of [FeatureOutputs.COMMIT, FeatureOutputs.PULL_REQUEST, FeatureOutputs.IMAGE]) delete withInfo.Outputs[name];
      expect(withInfo).toEqual(without);
    });

    test('each is optional, and a pull request may be its URL', () => {
      const stack = newStack({ pullRequest: 'https://github.com/acme/app/pull/12' });
      lite(stack);
      const outputs = Template.fromStack(stack).toJSON().Outputs;
      expect(outputs[FeatureOutputs.PULL_REQUEST].Value).toBe('https://github.com/acme/app/pull/12');
      expect(outputs[FeatureOutputs.COMMIT]).toBeUndefined();
      expect(outputs[FeatureOutputs.IMAGE]).toBeUndefined();
    });

    test.each(['3f2a1bc', COMMIT, COMMIT.toUpperCase()])('takes the commit %s', (commit) => {
      expect(() => newStack({ commit })).not.toThrow();
    });

    test('fails at synth on a bad commit, pull request or image, naming each prop, its value and the fix, all at once', () => {
      expect(() => newStack({ commit: '3f2a1b', pullRequest: '0', image: 'App:1' })).toThrow(
        'BranchStagingStack: commit must be a git commit id of 7 to 40 hex digits, e.g. "3f2a1bc0d9e8" (git rev-parse HEAD) (got "3f2a1b"); leave commit out when it is not known; ' +
          'pullRequest must be the pull request number (a positive whole number, e.g. "12") or its https:// URL (got "0"); leave pullRequest out when it is not known; ' +
          'image must be an image reference Docker can pull; it has an upper-case repository',
      );
    });

    test.each([
      ['commit', { commit: 'main' }, /commit must be a git commit id .* \(got "main"\)/],
      ['commit', { commit: COMMIT + '0' }, /commit must be a git commit id of 7 to 40 hex digits/],
      ['pullRequest', { pullRequest: '#12' }, /pullRequest must be the pull request number .* \(got "#12"\)/],
      ['pullRequest', { pullRequest: '1.5' }, /pullRequest must be .* \(got "1\.5"\)/],
      ['pullRequest', { pullRequest: 'http://github.com/acme/app/pull/12' }, /pullRequest must be .*https:\/\/ URL \(got "http:/],
      ['pullRequest', { pullRequest: '' }, /pullRequest must be .* \(got ""\)/],
    ])('fails on a bad %s: %j', (_, props, message) => {
      expect(() => newStack(props)).toThrow(message);
    });
  });

  test('fails when the staging is of another branch or prefix than the stack, naming both', () => {
    const stack = newStack();
    expect(() => new FeatureStagingLite(stack, 'Staging', branchProps('feature/other', stack.shared))).toThrow(
      /Staging: branch "feature\/other" with prefix "staging" is not the branch of its BranchStagingStack \("feature\/new_cool_page", prefix "staging"\); pass branch: stack\.names\.branch/,
    );
  });

  test('a CfnResource added after the staging waits for the quota too (the ordering is an aspect)', () => {
    const stack = newStack();
    lite(stack);
    new CfnResource(stack, 'Later', { type: 'AWS::SNS::Topic' });
    expect(notAfterQuota(Template.fromStack(stack).toJSON())).toEqual([]);
  });

});
