import { fitParameterValue } from '../../lambda/sweeper/aws';
import { classifyStack, isIgnored, lastRequestAt, metricWindow, parseStackArn } from '../../lambda/sweeper/model';
import { decodeTagValue } from '../../lib/contract/naming';
import { SWEEPER_CONFIG } from './sweeper-fixtures';

const NOW = Date.UTC(2026, 4, 10, 12, 0, 0);
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const config = SWEEPER_CONFIG;

describe('metricWindow', () => {
  test('hour buckets aligned to the hour, covering the idle window', () => {
    const w = metricWindow(NOW + 17 * 60_000, 3 * DAY);
    expect(w.periodSeconds).toBe(3600);
    expect(w.endMs % HOUR).toBe(0);
    expect(w.startMs % HOUR).toBe(0);
    expect(w.endMs).toBeGreaterThanOrEqual(NOW + 17 * 60_000);
    expect(w.endMs - w.startMs).toBeGreaterThanOrEqual(3 * DAY + 17 * 60_000);
  });

  test('stays within 500 queries x 100,800 data points for long timeouts', () => {
    for (const days of [1, 3, 7, 14, 30, 90]) {
      const w = metricWindow(NOW, days * DAY);
      const points = (w.endMs - w.startMs) / 1000 / w.periodSeconds;
      expect(points * 500).toBeLessThanOrEqual(100_800);
    }
  });

  test('is the same for two runs in the same hour (stable deadlines)', () => {
    expect(metricWindow(NOW + 60_000, 3 * DAY)).toEqual(metricWindow(NOW + 50 * 60_000, 3 * DAY));
  });
});

test('lastRequestAt: end of the newest bucket with requests, never after now', () => {
  const ts = [new Date(NOW - 2 * HOUR), new Date(NOW - 5 * HOUR), new Date(NOW - 30 * 60_000)];
  expect(lastRequestAt(ts, [3, 10, 0], 3600, NOW)).toBe(NOW - HOUR);
  expect(lastRequestAt([new Date(NOW - 30 * 60_000)], [1], 3600, NOW)).toBe(NOW);
  expect(lastRequestAt(ts, [0, 0, 0], 3600, NOW)).toBeUndefined();
});

test('decodeTagValue reverses the tag escaping of branch names', () => {
  expect(decodeTagValue('feature/new_cool_page')).toBe('feature/new_cool_page');
  expect(decodeTagValue('feature/caf+C3+A9+2Bx')).toBe('feature/café+x');
});

test('parseStackArn', () => {
  expect(parseStackArn('arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-a/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab')).toEqual({
    partition: 'aws',
    region: 'eu-west-1',
    account: '123456789012',
    stackName: 'staging-a',
    uuid: '0a1b2c3d-aaaa-bbbb-cccc-0123456789ab',
  });
  expect(parseStackArn('staging-a')).toBeUndefined();
});

describe('classifyStack', () => {
  const base = {
    StackName: 'staging-feature-x',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-feature-x/11111111-2222-3333-4444-555555555555',
    StackStatus: 'CREATE_COMPLETE',
    CreationTime: new Date(NOW - 10 * DAY),
    Tags: [
      { Key: 'staging:kind', Value: 'feature' },
      { Key: 'staging:name', Value: 'feature-x' },
      { Key: 'staging:branch', Value: 'feature/x' },
      { Key: 'staging:prefix', Value: 'staging' },
      { Key: 'staging:managed-by', Value: 'cdk-multi-staging' },
    ],
  };
  const tags = (drop: string, value?: string) => base.Tags.filter((t) => t.Key !== drop).concat(value === undefined ? [] : [{ Key: drop, Value: value }]);

  test('a tagged feature stack of this account and region is a staging', () => {
    const c = classifyStack(base, config);
    expect(c && !isIgnored(c) && c.stagingName).toBe('feature-x');
  });

  test.each([
    ['no kind tag', { Tags: tags('staging:kind') }, /no staging:kind tag/],
    ['the shared stack', { Tags: tags('staging:kind', 'shared') }, /staging:kind=shared/],
    ['another prefix', { Tags: tags('staging:prefix', 'other') }, /another staging system/],
    ['a name tag that does not match', { Tags: tags('staging:name', 'feature-y') }, /does not match the stack name/],
    ['another account', { StackId: base.StackId.replace('123456789012', '210987654321') }, /not a stack of account/],
    ['another region', { StackId: base.StackId.replace('eu-west-1', 'us-east-1') }, /not a stack of account/],
    ['a nested stack', { ParentId: base.StackId }, /nested stack/],
    [
      'the reserved name "shared", even tagged as a feature',
      {
        StackName: 'staging-shared',
        StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-shared/11111111-2222-3333-4444-555555555555',
        Tags: tags('staging:name', 'shared'),
      },
      /"shared" is a reserved staging name .* never deleted, whatever its tags say/,
    ],
  ])('%s is ignored', (_, change, reason) => {
    const c = classifyStack({ ...base, ...change }, config);
    expect(c && isIgnored(c) ? c.reason : c).toMatch(reason);
  });

  test('a stack without the name prefix is not considered at all', () => {
    expect(classifyStack({ ...base, StackName: 'production-app' }, config)).toBeUndefined();
    expect(classifyStack({ ...base, StackName: 'stagingfeature-x' }, config)).toBeUndefined();
  });
});

test('state values stay valid JSON within 4 KB', () => {
  const retained = Array.from({ length: 200 }, (_, i) => ({ logicalId: `Resource${i}`, physicalId: `physical-id-${i}-${'x'.repeat(20)}`, type: 'AWS::EC2::SecurityGroup' }));
  const json = fitParameterValue({ stackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/staging-a/1', retained });
  expect(Buffer.byteLength(json)).toBeLessThanOrEqual(4096);
  const parsed = JSON.parse(json);
  expect(parsed.stackId).toMatch(/stack\/staging-a/);
  expect(parsed.retained.length + parsed.retainedTruncated).toBe(200);
  expect(fitParameterValue({ a: 1 })).toBe('{"a":1}');
});
