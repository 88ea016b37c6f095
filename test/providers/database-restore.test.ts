import { App, Stack } from 'aws-cdk-lib';
import { ProviderNames } from '../../lib/contract/staging';
import { databaseRestoreProvider } from '../../lib/providers';
import { acknowledgedOf, statementsOf, wildcardsOf } from './util';

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

  test('acknowledges exactly the wildcards of its statements, each with its reason', () => {
    const acknowledged = acknowledgedOf(stack, definition);
    expect(Object.keys(acknowledged).sort()).toEqual(wildcardsOf(stack, definition));
    expect(acknowledged['Resource::arn:<AWS::Partition>:rds:eu-west-1:123456789012:db:staging-*-????']).toMatch(/which the shared database does not match/);
    expect(acknowledged['Resource::arn:<AWS::Partition>:secretsmanager:eu-west-1:123456789012:secret:staging/branches/*/database-??????']).toMatch(/never the branch cache tokens/);
  });
});
