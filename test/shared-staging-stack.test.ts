import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SharedStaging, SharedStagingStack, StagingKinds, TagKeys } from '../lib';
import { MANAGED_BY_VALUE } from '../lib/contract/staging';
import { SharedOutputs } from '../lib/private/shared-outputs';
import { ENV, sharedStagingProps } from './util/harness';
import { FEATURE_FLAGS } from './util/validate';

function app(): App {
  return new App({ context: FEATURE_FLAGS });
}

describe('SharedStagingStack', () => {
  let stack: SharedStagingStack;
  let json: any;
  beforeAll(() => {
    stack = new SharedStagingStack(app(), 'staging-shared', { env: ENV });
    new SharedStaging(stack, 'Staging', sharedStagingProps(stack));
    json = Template.fromStack(stack).toJSON();
  });

  test('is named <prefix>-shared and protected from termination', () => {
    expect([stack.stackName, stack.terminationProtection, stack.prefix, stack.parameterPrefix]).toEqual(['staging-shared', true, 'staging', '/staging']);
    expect(SharedStagingStack.isSharedStagingStack(stack)).toBe(true);
    expect(SharedStagingStack.isSharedStagingStack({})).toBe(false);
  });

  test('tags itself as the shared staging, with its prefix and manager (what the sweeper\'s explicit denies read)', () => {
    expect(stack.tags.tagValues()).toEqual({ [TagKeys.KIND]: StagingKinds.SHARED, [TagKeys.PREFIX]: 'staging', [TagKeys.MANAGED_BY]: MANAGED_BY_VALUE });
  });

  test('tags every taggable resource alike', () => {
    const taggable = Object.values(json.Resources as Record<string, any>).filter((r) => Array.isArray(r.Properties?.Tags));
    expect(taggable.length).toBeGreaterThan(10);
    for (const r of taggable) {
      const tags = Object.fromEntries((r.Properties.Tags as Array<{ Key: string; Value: string }>).map((t) => [t.Key, t.Value]));
      expect({ type: r.Type, tags }).toEqual({
        type: r.Type,
        tags: expect.objectContaining({ [TagKeys.KIND]: StagingKinds.SHARED, [TagKeys.PREFIX]: 'staging', [TagKeys.MANAGED_BY]: MANAGED_BY_VALUE }),
      });
    }
  });

  test('outputs what a user looks up after the deploy, without exports', () => {
    expect(Object.keys(json.Outputs).sort()).toEqual(Object.values(SharedOutputs).sort());
    for (const output of Object.values(json.Outputs as Record<string, any>)) expect(output.Export).toBeUndefined();
    expect(json.Outputs[SharedOutputs.URL].Value).toBe('https://shared.staging.example.com');
  });

  test('without the sweeper, outputs no sweeper values', () => {
    const s = new SharedStagingStack(app(), 'staging-shared', { env: ENV });
    new SharedStaging(s, 'Staging', sharedStagingProps(s, { sweeper: { enabled: false } }));
    expect(Object.keys(Template.fromStack(s).toJSON().Outputs).sort()).toEqual([
      SharedOutputs.CAPACITY,
      SharedOutputs.SHARD_COUNT,
      SharedOutputs.CLUSTER_NAME,
      SharedOutputs.LIBRARY_VERSION,
      SharedOutputs.PARAMETER_PREFIX,
      SharedOutputs.SLEEPER_FUNCTION_NAME,
      SharedOutputs.STAGINGS_PAGE_URL,
      SharedOutputs.URL,
    ].sort());
  });

  test('keeps a stack name and construct id of the user\'s, and termination protection can be turned off', () => {
    const s = new SharedStagingStack(app(), 'PlatformStaging', { prefix: 'acme', stackName: 'acme-platform-staging', terminationProtection: false, env: ENV });
    expect([s.node.id, s.stackName, s.terminationProtection, s.tags.tagValues()[TagKeys.PREFIX]]).toEqual(['PlatformStaging', 'acme-platform-staging', false, 'acme']);
  });

  test('fails when a second SharedStaging is built in it', () => {
    const s = new SharedStagingStack(app(), 'staging-shared', { env: ENV });
    const props = sharedStagingProps(s);
    new SharedStaging(s, 'Staging', props);
    expect(() => new SharedStaging(s, 'Second', props)).toThrow(/Stack staging-shared already holds the shared staging staging-shared\/Staging; put staging-shared\/Second in a SharedStagingStack of its own/);
  });

  test('fails on a bad prefix or parameter prefix, naming each and the value', () => {
    expect(() => new SharedStagingStack(app(), 'S', { prefix: 'Bad_Prefix', parameterPrefix: 'staging/', env: ENV })).toThrow(
      /prefix must be .*"Bad_Prefix"[\s\S]*parameterPrefix must be an SSM path.*"staging\/"/,
    );
  });
});
