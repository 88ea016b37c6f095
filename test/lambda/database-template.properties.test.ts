import * as fc from 'fast-check';
import {
  DatabaseTemplateEnvironment as E,
  TemplateConfig,
  branchNameProblem,
  identifierProblem,
  parseProperties,
  readConfig,
  untouchableDatabases,
} from '../../lib/contract/providers/database-template';
import { StagingNames } from '../../lib/contract/naming';

const ENV = {
  [E.HOST]: 'db.internal',
  [E.ADMIN_SECRET_ARN]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:admin',
  [E.TEMPLATE_DATABASE]: 'staging_template',
  [E.TEMPLATE_OWNER]: 'staging_template_owner',
  [E.BRANCH_PREFIX]: 'staging_br_',
  [E.PROTECTED_DATABASES]: 'app, other',
};
const config = (env: Record<string, string | undefined> = {}): TemplateConfig => readConfig({ ...ENV, ...env });
const PROPS = {
  DatabaseName: 'staging_br_feature_a',
  RoleName: 'staging_br_feature_a',
  PasswordSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/branches/feature-a/database-AbCdEf',
  ConnectionLimit: '20',
  StagingName: 'feature-a',
};

describe('readConfig', () => {
  test('reads the environment with defaults: port 5432, TLS on, the postgres maintenance database', () => {
    expect(config()).toEqual({
      host: 'db.internal',
      port: 5432,
      ssl: true,
      adminSecretArn: ENV[E.ADMIN_SECRET_ARN],
      maintenanceDatabase: 'postgres',
      templateDatabase: 'staging_template',
      templateOwner: 'staging_template_owner',
      protectedDatabases: ['app', 'other'],
      branchPrefix: 'staging_br_',
      refreshCommand: expect.stringContaining('StagingDatabaseTemplateRefreshCommand'),
    });
  });

  test('fails listing every problem when misconfigured', () => {
    expect(() => readConfig({ [E.PORT]: 'x', [E.BRANCH_PREFIX]: '' })).toThrow(
      /DB_HOST is not set.*DB_ADMIN_SECRET_ARN is not set.*DB_TEMPLATE_DATABASE is not set.*DB_BRANCH_PREFIX is not set.*DB_PORT must be a port/,
    );
    expect(() => config({ [E.TEMPLATE_DATABASE]: 'x'.repeat(60) })).toThrow(/leaves no room for '_next'/);
    expect(() => config({ [E.BRANCH_PREFIX]: '*' })).toThrow(/must look like 'staging_br_'/);
  });

  test('the golden template, its neighbours, the protected and the system databases are untouchable', () => {
    expect(untouchableDatabases(config())).toEqual(
      expect.arrayContaining(['postgres', 'template0', 'template1', 'rdsadmin', 'app', 'other', 'staging_template', 'staging_template_next', 'staging_template_old']),
    );
  });
});

describe('parseProperties', () => {
  test('parses valid properties', () => {
    expect(parseProperties({ ...PROPS, RefreshToken: 't' }, config())).toEqual({
      databaseName: 'staging_br_feature_a',
      roleName: 'staging_br_feature_a',
      passwordSecretArn: PROPS.PasswordSecretArn,
      connectionLimit: 20,
      stagingName: 'feature-a',
      refreshToken: 't',
    });
  });

  test('lists every problem at once', () => {
    expect(() => parseProperties({ DatabaseName: 'app', RoleName: 'Bad', PasswordSecretArn: 'x', ConnectionLimit: '0', StagingName: '' }, config())).toThrow(
      /DatabaseName 'app' is outside the branch pattern.*RoleName 'Bad' must be lower-case.*PasswordSecretArn must be a Secrets Manager ARN.*ConnectionLimit must be a whole number.*StagingName must be a staging name/,
    );
  });

  test.each([
    ['', /is required/],
    ['staging_br_', /outside the branch pattern/],
    ['staging_brx', /outside the branch pattern/],
    ['staging_br_a"; DROP DATABASE app; --', /lower-case letters/],
    [`staging_br_${'é'.repeat(30)}`, /bytes/],
  ])('refuses the branch name %j', (name, message) => {
    expect(branchNameProblem('DatabaseName', name, config())).toMatch(message);
  });

  test('a protected database inside the branch pattern is still refused', () => {
    expect(branchNameProblem('DatabaseName', 'staging_br_keep', config({ [E.PROTECTED_DATABASES]: 'staging_br_keep' }))).toMatch(/the shared app's or a system database/);
  });
});

describe('names from StagingNames always satisfy the handler, and never reach the golden template', () => {
  test('for any branch and prefix', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 300 }).filter((b) => b.trim() !== '' && !/[\uD800-\uDFFF]/.test(b)), fc.stringMatching(/^[a-z][a-z0-9]{0,19}$/), (branch, prefix) => {
        const names = StagingNames.fromBranch(branch, prefix);
        const cfg = config({
          [E.BRANCH_PREFIX]: StagingNames.branchDatabasePrefix(prefix),
          [E.TEMPLATE_DATABASE]: `${prefix}_template`,
          [E.TEMPLATE_OWNER]: `${prefix}_template_owner`,
        });
        expect(identifierProblem('name', names.branchDatabaseName)).toBeUndefined();
        expect(branchNameProblem('DatabaseName', names.branchDatabaseName, cfg)).toBeUndefined();
        expect(untouchableDatabases(cfg)).not.toContain(names.branchDatabaseName);
      }),
      { numRuns: 500 },
    );
  });
});
