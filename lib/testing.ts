/**
 * Snapshot testing of staging stacks without churn: asset hashes, bundle hashes and other values
 * that change when nothing a user cares about changed are replaced by stable placeholders.
 *
 * ```ts
 * import { Template } from 'aws-cdk-lib/assertions';
 * import { normalizeTemplate } from 'cdk-multi-staging/testing';
 *
 * test('branch staging', () => {
 *   expect(normalizeTemplate(Template.fromStack(stack).toJSON())).toMatchSnapshot();
 * });
 * ```
 */

const ASSET_HASH = /\b[0-9a-f]{64}\b/g;
// `<path>CurrentVersion<8 hex of the path><32 hex of the code>`: only the code's part churns.
const VERSION_LOGICAL_ID = /(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}\b/g;

/** Placeholders used by `normalizeTemplate`. */
export const Masks = {
  ASSET_HASH: '[ASSET-HASH]',
  VERSION: '[CODE-HASH]',
} as const;

/**
 * A copy of a synthesized template with volatile values masked:
 * - 64-hex asset and bundle hashes (S3 keys, image tags, asset parameters) become `[ASSET-HASH]`;
 * - the code hash in Lambda version logical IDs (`…CurrentVersion1A2B3C4D<hash>`) becomes `[CODE-HASH]`;
 * - `aws:asset:*` metadata and the `AWS::CDK::Metadata` resource are dropped.
 * Everything else, including every property a user deploys, is kept as it is.
 */
export function normalizeTemplate(template: unknown): any {
  const masked = JSON.parse(
    JSON.stringify(template, (key, value) => {
      if (key.startsWith('aws:asset:')) return undefined;
      if (value && typeof value === 'object' && (value as { Type?: unknown }).Type === 'AWS::CDK::Metadata') return undefined;
      return value;
    })
      .replace(ASSET_HASH, Masks.ASSET_HASH)
      .replace(VERSION_LOGICAL_ID, `$1${Masks.VERSION}`),
  );
  if (masked?.Metadata && Object.keys(masked.Metadata).length === 0) delete masked.Metadata;
  return masked;
}

/**
 * The same masking as a Jest snapshot serializer, for `expect.addSnapshotSerializer(...)` or
 * `snapshotSerializers` in jest.config: it applies to any object that looks like a template.
 */
export const templateSnapshotSerializer = {
  test(value: unknown): boolean {
    return !!value && typeof value === 'object' && 'Resources' in (value as object) && !(value as { [MASKED]?: boolean })[MASKED];
  },
  serialize(value: unknown, config: unknown, indentation: string, depth: number, refs: unknown, printer: (...args: any[]) => string): string {
    const masked = normalizeTemplate(value);
    Object.defineProperty(masked, MASKED, { value: true, enumerable: false });
    return printer(masked, config, indentation, depth, refs);
  },
};

const MASKED = Symbol('cdk-multi-staging.masked');
