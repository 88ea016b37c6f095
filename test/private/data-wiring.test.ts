import { App, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { cacheWiring, combineWiring, databaseWiring, eager, layer, resolveWiring, searchWiring } from '../../lib/private/data-wiring';

function secret(id: string): secretsmanager.ISecret {
  return secretsmanager.Secret.fromSecretCompleteArn(new Stack(new App(), id), 'S', `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${id}-AbCdEf`);
}

const DB = { endpoint: 'db.internal', port: '5432', databaseName: 'app', secret: secret('db') };
const CACHE = { endpoint: 'cache.internal', port: '6379', authSecret: secret('cache') };
const SOLR = { url: 'https://solr.internal/solr', secret: secret('solr') };

describe('data wiring', () => {
  test('a database gives host, port, name and user as variables and the password as a secret', () => {
    const wiring = resolveWiring(databaseWiring({ ...DB, username: 'branch_user' }));
    expect(wiring.environment).toEqual({ DATABASE_HOST: 'db.internal', DATABASE_PORT: '5432', DATABASE_NAME: 'app', DATABASE_USERNAME: 'branch_user' });
    expect(Object.keys(wiring.secrets)).toEqual(['DATABASE_PASSWORD']);
    expect(wiring.secrets.DATABASE_PASSWORD.arn).toBe(`${DB.secret.secretArn}:password::`);
  });

  test('a database without a known user name reads it from the secret at deploy time (a dynamic reference)', () => {
    const user = resolveWiring(databaseWiring(DB)).environment.DATABASE_USERNAME;
    expect(new Stack().resolve(user)).toBe(`{{resolve:secretsmanager:${DB.secret.secretArn}:SecretString:username::}}`);
  });

  test('a cache has TLS on, the key prefix only when there is one, and its AUTH token as a secret', () => {
    expect(resolveWiring(cacheWiring(CACHE)).environment).toEqual({ REDIS_HOST: 'cache.internal', REDIS_PORT: '6379', REDIS_TLS: 'true' });
    const prefixed = resolveWiring(cacheWiring({ ...CACHE, keyPrefix: 'staging:x:' }));
    expect(prefixed.environment.REDIS_KEY_PREFIX).toBe('staging:x:');
    expect(prefixed.secrets.REDIS_PASSWORD.arn).toBe(`${CACHE.authSecret.secretArn}:password::`);
  });

  test('Solr gives its URL, the collection only when there is one, and user and password as secrets', () => {
    expect(resolveWiring(searchWiring(SOLR)).environment).toEqual({ SOLR_URL: 'https://solr.internal/solr' });
    const wiring = resolveWiring(searchWiring({ ...SOLR, collection: 'products' }));
    expect(wiring.environment.SOLR_COLLECTION).toBe('products');
    expect(Object.keys(wiring.secrets).sort()).toEqual(['SOLR_PASSWORD', 'SOLR_USERNAME']);
  });

  test('a later layer wins, and a name is a variable or a secret, never both', () => {
    const password = ecs.Secret.fromSecretsManager(DB.secret, 'password');
    const lower = { environment: { A: 'lower', B: 'lower' }, secrets: { S: password } };
    const upper = { environment: { S: 'now a variable' }, secrets: { B: password } };
    expect(layer(lower, upper)).toEqual({ environment: { A: 'lower', S: 'now a variable' }, secrets: { B: password } });
  });

  test('combined wirings keep every store\'s names; an override replaces a data variable without making it', () => {
    let made = 0;
    const counted = { environment: { DATABASE_HOST: () => `made ${++made}` }, secrets: {} };
    const wiring = resolveWiring(layer(combineWiring(counted, cacheWiring(CACHE), searchWiring(SOLR)), eager({ DATABASE_HOST: 'db.branch.internal' })));
    expect(wiring.environment.DATABASE_HOST).toBe('db.branch.internal');
    expect(made).toBe(0);
    expect(Object.keys(wiring.environment).sort()).toEqual(['DATABASE_HOST', 'REDIS_HOST', 'REDIS_PORT', 'REDIS_TLS', 'SOLR_URL']);
    expect(Object.keys(wiring.secrets).sort()).toEqual(['REDIS_PASSWORD', 'SOLR_PASSWORD', 'SOLR_USERNAME']);
  });

  test('eager values resolve to themselves; no values, no wiring', () => {
    const password = ecs.Secret.fromSecretsManager(DB.secret, 'password');
    expect(resolveWiring(eager({ X: '1' }, { Y: password }))).toEqual({ environment: { X: '1' }, secrets: { Y: password } });
    expect(resolveWiring(eager())).toEqual({ environment: {}, secrets: {} });
  });
});
