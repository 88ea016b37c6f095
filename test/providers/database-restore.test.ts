import { App, Stack } from 'aws-cdk-lib';
import { ProviderNames } from '../../lib/contract/staging';
import { databaseRestoreProvider } from '../../lib/providers';
import { statementsOf } from './util';

describe('database-restore provider', () => {
  const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  const definition = databaseRestoreProvider({ stack, prefix: 'staging', subnetGroupName: 'staging-shared-dbsubnets-abc' });
  const statements = statementsOf(stack, definition);
  const rds = (r: string) => `arn:aws:rds:eu-west-1:123456789012:${r}`;

  test('runs the database-restore handler, which waits in isComplete', () => {
    expect(definition.name).toBe(ProviderNames.DATABASE_RESTORE);
    expect(definition.options).toMatchObject({ handler: 'database-restore', waits: true });
  });

  test('creates only branch databases (<prefix>-*-????, never <prefix>-shared), into the shared subnet group', () => {
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'rds:RestoreDBInstanceFromDBSnapshot',
      Resource: [rds('db:staging-*-????'), rds('snapshot:*'), rds('subgrp:staging-shared-dbsubnets-abc'), rds('og:*'), rds('pg:*')],
    });
  });

  test('modifies and deletes only feature-tagged branch databases; may move them into the shared subnet group', () => {
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['rds:ModifyDBInstance', 'rds:DeleteDBInstance'],
      Resource: rds('db:staging-*-????'),
      Condition: { StringEquals: { 'aws:ResourceTag/staging:kind': 'feature' } },
    });
    expect(statements).toContainEqual({ Effect: 'Allow', Action: 'rds:ModifyDBInstance', Resource: rds('subgrp:staging-shared-dbsubnets-abc') });
  });

  test('reads only branch database secrets (not their cache tokens) and uses KMS only through RDS', () => {
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/branches/*/database-??????',
    });
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: ['kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt'], Condition: { StringEquals: { 'kms:ViaService': 'rds.eu-west-1.amazonaws.com' } } }),
    );
  });

  test('acknowledges exactly its by-design wildcards', () => {
    const findings = definition.wildcards!.findings;
    for (const ok of ['Resource::*', `Resource::${rds('db:staging-*-????')}`, `Resource::${rds('snapshot:*')}`, 'Resource::arn:aws:secretsmanager:eu-west-1:1:secret:staging/branches/*/database-??????']) {
      expect(findings.test(ok)).toBe(true);
    }
    for (const no of [`Resource::${rds('db:*')}`, `Resource::${rds('db:staging-*')}`, 'Resource::arn:aws:secretsmanager:eu-west-1:1:secret:*', 'Resource::arn:aws:secretsmanager:eu-west-1:1:secret:staging/branches/*', 'Action::rds:*']) {
      expect(findings.test(no)).toBe(false);
    }
  });
});
