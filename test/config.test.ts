import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBranchContext, readStagingConfig, StagingInputError } from '../bin/config';
import { configurationRows, configurationTable, readmeTable } from '../bin/config-table';

/** Parsed JSON, as cdk.json context is. */
type Json = ReturnType<typeof JSON.parse>;

/** The example `staging` block of cdk.json, as the ready-made app reads it. */
const example = (): Json => JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')).context.staging;

/** The example block with `change` applied to a copy of it. */
function withChange(change: (s: Json) => void): Json {
  const s = example();
  change(s);
  return s;
}

/** The message readStagingConfig throws for `raw`; fails the test if it does not throw. */
function problemsOf(raw: unknown): string {
  try {
    readStagingConfig(raw);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('readStagingConfig did not throw');
}

/** The problem lines of the error (one per problem). */
function problemLines(message: string): string[] {
  return message.split('\n').filter((l) => l.startsWith('  - '));
}

describe('readStagingConfig', () => {
  test('the example block of cdk.json parses', () => {
    const config = readStagingConfig(example());
    expect(config).toMatchObject({
      prefix: 'staging',
      domainName: 'staging.example.com',
      hostedZoneId: 'Z0123456789ABCDEFGHIJ',
      hostedZoneName: 'example.com',
      region: 'eu-west-1',
      network: { cidr: '10.64.0.0/16', maxAzs: 2, natGateways: 1 },
      cluster: { containerInsights: true },
      database: { instanceClass: 'db.t4g.medium', engineVersion: '16', allocatedStorageGiB: 50, databaseName: 'app', multiAz: false, backupRetentionDays: 7 },
      cache: { nodeType: 'cache.t4g.small' },
      solr: { url: 'https://solr.internal.example.com:8983/solr' },
      app: {
        image: 'public.ecr.aws/docker/library/nginx:1.27',
        containerPort: 80,
        healthCheckPath: '/',
        environment: { APP_LOG_LEVEL: 'info' },
        web: { name: 'web', cpu: 512, memoryMiB: 1024, desiredCount: 2 },
        workers: [{ name: 'worker', command: ['sh', '-c', 'while true; do sleep 60; done'], cpu: 256, memoryMiB: 512, desiredCount: 1 }],
        scheduledJobs: [{ name: 'nightly', schedule: 'cron(0 3 * * ? *)', command: ['sh', '-c', 'echo nightly job'], cpu: 256, memoryMiB: 512 }],
      },
    });
  });

  test('a minimal block parses, with the default prefix', () => {
    const config = readStagingConfig({
      access: { public: true },
      domainName: 'staging.example.com',
      hostedZoneId: 'Z123',
      hostedZoneName: 'example.com',
      region: 'eu-west-1',
      solr: { url: 'http://solr:8983/solr' },
      app: { image: 'nginx', web: {} },
    });
    expect(config.prefix).toBe('staging');
    expect(config.app.web.name).toBe('web');
    expect(config.app.workers).toEqual([]);
    expect(config.app.scheduledJobs).toEqual([]);
  });

  test('numbers and booleans given as strings (as -c passes them) are accepted', () => {
    const config = readStagingConfig(
      withChange((s) => {
        s.network.maxAzs = '3';
        s.network.natGateways = '2';
        s.database.allocatedStorageGiB = '100';
        s.database.backupRetentionDays = '14';
        s.database.multiAz = 'true';
        s.cluster.containerInsights = 'false';
        s.cluster.ec2Capacity = { instanceType: 't3.large', minCapacity: '0', maxCapacity: '4' };
        s.app.containerPort = '8080';
        s.app.web.cpu = '1024';
        s.app.web.memoryMiB = '2048';
        s.app.web.desiredCount = '0';
        s.app.workers[0].desiredCount = '3';
      }),
    );
    expect(config.network).toMatchObject({ maxAzs: 3, natGateways: 2 });
    expect(config.database).toMatchObject({ allocatedStorageGiB: 100, backupRetentionDays: 14, multiAz: true });
    expect(config.cluster).toEqual({ containerInsights: false, ec2Capacity: { instanceType: 't3.large', minCapacity: 0, maxCapacity: 4 } });
    expect(config.app.containerPort).toBe(8080);
    expect(config.app.web).toMatchObject({ cpu: 1024, memoryMiB: 2048, desiredCount: 0 });
    expect(config.app.workers[0].desiredCount).toBe(3);
  });

  test('maxStagings: a whole number >= 1 (also as -c passes it), or left out for no cap', () => {
    expect(readStagingConfig(example()).maxStagings).toBe(example().maxStagings);
    expect(readStagingConfig(withChange((s) => (s.maxStagings = '7'))).maxStagings).toBe(7);
    expect(readStagingConfig(withChange((s) => delete s.maxStagings)).maxStagings).toBeUndefined();
    expect(problemLines(problemsOf(withChange((s) => (s.maxStagings = 0))))).toEqual([expect.stringMatching(/^ {2}- staging\.maxStagings: must be >= 1 .*got 0/)]);
    expect(problemLines(problemsOf(withChange((s) => (s.maxStagings = 2.5))))).toEqual([expect.stringMatching(/^ {2}- staging\.maxStagings: must be a whole number >= 1/)]);
  });

  test('fails when the app has no web block', () => {
    const message = problemsOf(withChange((s) => delete s.app.web));
    expect(problemLines(message)).toEqual(['  - staging.app.web: is required; add it to the "staging" block of cdk.json or pass -c (got undefined)']);
  });

  test('an existing VPC alone is accepted', () => {
    const config = readStagingConfig(
      withChange((s) => {
        s.network = { vpcId: 'vpc-0123456789abcdef0' };
        s.account = '123456789012';
      }),
    );
    expect(config.network.vpcId).toBe('vpc-0123456789abcdef0');
  });

  // Each case: what is wrong, the change, the key the message must name, the value it must show
  // (as JSON), and the fix it must give.
  const failures: Array<[string, (s: Json) => void, string, string, RegExp]> = [
    ['domainName is missing', (s) => delete s.domainName, 'staging.domainName', 'undefined', /is required, e\.g\. "staging\.example\.com"/],
    ['domainName is upper case', (s) => (s.domainName = 'Staging.Example.com'), 'staging.domainName', '"Staging.Example.com"', /write it like "staging\.example\.com"/],
    ['domainName has no dot', (s) => (s.domainName = 'localhost'), 'staging.domainName', '"localhost"', /write it like "staging\.example\.com"/],
    ['domainName has a scheme', (s) => (s.domainName = 'https://staging.example.com'), 'staging.domainName', '"https://staging.example.com"', /write it like/],
    ['domainName has a space', (s) => (s.domainName = 'staging .example.com'), 'staging.domainName', '"staging .example.com"', /write it like/],
    ['domainName is a number', (s) => (s.domainName = 42), 'staging.domainName', '42', /must be a string, e\.g\. "staging\.example\.com"/],
    ['hostedZoneId is lower case', (s) => (s.hostedZoneId = 'z0123'), 'staging.hostedZoneId', '"z0123"', /write it like "Z0123456789ABCDEFGHIJ"/],
    ['hostedZoneId has the /hostedzone/ prefix', (s) => (s.hostedZoneId = '/hostedzone/Z0123'), 'staging.hostedZoneId', '"/hostedzone/Z0123"', /write it like "Z/],
    ['hostedZoneName is missing', (s) => delete s.hostedZoneName, 'staging.hostedZoneName', 'undefined', /is required, e\.g\. "example\.com"/],
    ['region is invalid', (s) => (s.region = 'Europe'), 'staging.region', '"Europe"', /write it like "eu-west-1"/],
    ['region lacks its number', (s) => (s.region = 'eu-west'), 'staging.region', '"eu-west"', /write it like "eu-west-1"/],
    ['account is not 12 digits', (s) => (s.account = '12345'), 'staging.account', '"12345"', /write it like "123456789012"/],
    ['prefix is upper case', (s) => (s.prefix = 'Staging'), 'staging.prefix', '"Staging"', /write it like "staging"/],
    ['maxAzs is 1', (s) => (s.network.maxAzs = 1), 'staging.network.maxAzs', '1', /must be >= 2 and <= 6/],
    ['maxAzs is 2.5', (s) => (s.network.maxAzs = 2.5), 'staging.network.maxAzs', '2.5', /must be a whole number >= 2 and <= 6/],
    ['natGateways is "abc"', (s) => (s.network.natGateways = 'abc'), 'staging.network.natGateways', '"abc"', /must be a whole number >= 1 and <= 6/],
    ['natGateways is 0', (s) => (s.network.natGateways = '0'), 'staging.network.natGateways', '"0"', /must be >= 1 and <= 6/],
    ['cidr is not a CIDR', (s) => (s.network.cidr = '10.0.0.0'), 'staging.network.cidr', '"10.0.0.0"', /write it like "10\.64\.0\.0\/16"/],
    ['vpcId is invalid', (s) => (s.network = { vpcId: 'my-vpc' }), 'staging.network.vpcId', '"my-vpc"', /write it like "vpc-0123456789abcdef0"/],
    ['network is a string', (s) => (s.network = 'default'), 'staging.network', '"default"', /must be an object/],
    ['containerInsights is "yes"', (s) => (s.cluster.containerInsights = 'yes'), 'staging.cluster.containerInsights', '"yes"', /must be true or false/],
    ['instanceClass lacks db.', (s) => (s.database.instanceClass = 't4g.medium'), 'staging.database.instanceClass', '"t4g.medium"', /write it like "db\.t4g\.medium"/],
    ['allocatedStorageGiB is 10', (s) => (s.database.allocatedStorageGiB = 10), 'staging.database.allocatedStorageGiB', '10', /must be >= 20 and <= 65536/],
    ['backupRetentionDays is 0', (s) => (s.database.backupRetentionDays = 0), 'staging.database.backupRetentionDays', '0', /must be >= 1 and <= 35/],
    ['databaseName starts with a digit', (s) => (s.database.databaseName = '1app'), 'staging.database.databaseName', '"1app"', /write it like "app"/],
    ['cache nodeType lacks cache.', (s) => (s.cache.nodeType = 't4g.small'), 'staging.cache.nodeType', '"t4g.small"', /write it like "cache\.t4g\.small"/],
    ['solr is missing', (s) => delete s.solr, 'staging.solr', 'undefined', /is required; add it to the "staging" block of cdk\.json or pass -c/],
    ['solr url has no scheme', (s) => (s.solr.url = 'solr:8983'), 'staging.solr.url', '"solr:8983"', /write it like "https:\/\/solr/],
    ['solr secret is not an ARN', (s) => (s.solr.credentialsSecretArn = 'solr-secret'), 'staging.solr.credentialsSecretArn', '"solr-secret"', /write it like "arn:aws:secretsmanager:/],
    ['app is missing', (s) => delete s.app, 'staging.app', 'undefined', /is required; add it/],
    ['image is missing', (s) => delete s.app.image, 'staging.app.image', 'undefined', /is required, e\.g\. "public\.ecr\.aws/],
    ['image has a scheme', (s) => (s.app.image = 'https://ghcr.io/o/app:1'), 'staging.app.image', '"https://ghcr.io/o/app:1"', /is not an image Docker can pull: it starts with "https:\/\/"; .*write it like "public\.ecr\.aws/],
    ['image is upper case', (s) => (s.app.image = 'MyApp:Latest'), 'staging.app.image', '"MyApp:Latest"', /is not an image Docker can pull: it has an upper-case repository "MyApp"; repositories are lower case: "myapp"; write it like/],
    ['image has an empty tag', (s) => (s.app.image = 'nginx:'), 'staging.app.image', '"nginx:"', /empty tag after ":"/],
    ['containerPort is 0', (s) => (s.app.containerPort = 0), 'staging.app.containerPort', '0', /must be >= 1 and <= 65535/],
    ['healthCheckPath has no slash', (s) => (s.app.healthCheckPath = 'health'), 'staging.app.healthCheckPath', '"health"', /write it like "\/health"/],
    ['web cpu is too small', (s) => (s.app.web.cpu = 128), 'staging.app.web.cpu', '128', /must be >= 256 and <= 16384/],
    ['command is a string', (s) => (s.app.workers[0].command = 'bin/worker --queue default'), 'staging.app.workers[0].command', '"bin/worker --queue default"', /must be a non-empty list of strings, e\.g\. \["bin\/rails", "db:migrate"\]/],
    ['command has a number', (s) => (s.app.web.command = ['sleep', 60]), 'staging.app.web.command', '["sleep",60]', /must be a non-empty list of strings/],
    ['environment variable name has a hyphen', (s) => (s.app.environment['LOG-LEVEL'] = 'info'), 'staging.app.environment.LOG-LEVEL', '"LOG-LEVEL"', /is not a valid environment variable name; use letters, digits and _/],
    ['environment variable name starts with a digit', (s) => (s.app.web.environment = { '1X': 'y' }), 'staging.app.web.environment.1X', '"1X"', /is not a valid environment variable name/],
    ['environment value is an object', (s) => (s.app.environment.NESTED = { a: 1 }), 'staging.app.environment.NESTED', '{"a":1}', /must be a string/],
    ['worker has no name', (s) => delete s.app.workers[0].name, 'staging.app.workers[0].name', 'undefined', /is required, e\.g\. "worker"/],
    ['worker name is upper case', (s) => (s.app.workers[0].name = 'Worker'), 'staging.app.workers[0].name', '"Worker"', /write it like "worker"/],
    ['workers is not a list', (s) => (s.app.workers = { name: 'worker' }), 'staging.app.workers', '{"name":"worker"}', /must be a list of services/],
    ['scheduledJobs is not a list', (s) => (s.app.scheduledJobs = 'nightly'), 'staging.app.scheduledJobs', '"nightly"', /must be a list of jobs/],
    ['job has no schedule', (s) => delete s.app.scheduledJobs[0].schedule, 'staging.app.scheduledJobs[0].schedule', 'undefined', /is required, e\.g\. "cron\(0 3 \* \* \? \*\)"/],
    ['job schedule is "every day"', (s) => (s.app.scheduledJobs[0].schedule = 'every day'), 'staging.app.scheduledJobs[0].schedule', '"every day"', /write it like "cron\(0 3 \* \* \? \*\)"/],
    ['job has no name', (s) => delete s.app.scheduledJobs[0].name, 'staging.app.scheduledJobs[0].name', 'undefined', /is required, e\.g\. "worker"/],
  ];

  test.each(failures)('fails when %s, naming the key, the value and the fix', (_what, change, key, shown, fix) => {
    const message = problemsOf(withChange(change));
    const lines = problemLines(message);
    expect(message).toMatch(/^Invalid staging configuration in cdk\.json context:\n/);
    // This problem comes first, on a line of its own that starts with the key; any other line is
    // about a key inside it (a missing block also misses its required keys).
    expect(lines[0].startsWith(`  - ${key}: `)).toBe(true);
    for (const other of lines.slice(1)) expect(other.startsWith(`  - ${key}.`)).toBe(true);
    expect(lines[0]).toContain(`(got ${shown})`);
    expect(lines[0]).toMatch(fix);
  });

  test('fails when the staging block is missing, and says where to add it', () => {
    const message = problemsOf(undefined);
    expect(problemLines(message)[0]).toBe('  - staging: is required; add it to the "staging" block of cdk.json or pass -c (got undefined)');
    // The required keys inside it are reported too, so one run shows all that is needed.
    for (const key of ['staging.domainName', 'staging.hostedZoneId', 'staging.hostedZoneName', 'staging.solr', 'staging.app']) {
      expect(message).toContain(`  - ${key}: is required`);
    }
  });

  test('fails when the staging block is not an object', () => {
    expect(problemLines(problemsOf('staging.example.com'))[0]).toMatch(/^ {2}- staging: must be the whole staging block as a JSON object when given with -c, .*\(got "staging\.example\.com"\)$/);
    expect(problemLines(problemsOf('42'))[0]).toBe('  - staging: must be an object (got 42)');
    expect(problemLines(problemsOf([]))[0]).toBe('  - staging: must be an object (got [])');
  });

  test('reads the block as JSON when -c passes it as a string', () => {
    expect(readStagingConfig(JSON.stringify({ ...example(), region: 'us-west-2' })).region).toBe('us-west-2');
  });

  test('fails when -c staging is not JSON, saying how to pass the block', () => {
    expect(problemLines(problemsOf('{region:us-west-2}'))).toEqual([
      `  - staging: must be the whole staging block as a JSON object when given with -c, e.g. -c staging="$(jq -c .context.staging cdk.json)", or be edited in cdk.json (got "{region:us-west-2}")`,
    ]);
  });

  test('fails when vpcId is given together with cidr', () => {
    const message = problemsOf(withChange((s) => ((s.network = { vpcId: 'vpc-0123456789abcdef0', cidr: '10.64.0.0/16' }), (s.account = '123456789012'))));
    expect(problemLines(message)).toEqual([
      '  - staging.network: give either vpcId (use an existing VPC) or cidr/maxAzs (create one), not both (got {"vpcId":"vpc-0123456789abcdef0","cidr":"10.64.0.0/16"})',
    ]);
  });

  test('fails when vpcId is given together with maxAzs', () => {
    const message = problemsOf(withChange((s) => ((s.network = { vpcId: 'vpc-0123456789abcdef0', maxAzs: '2' }), (s.account = '123456789012'))));
    expect(problemLines(message)).toHaveLength(1);
    expect(message).toContain('staging.network: give either vpcId');
  });

  test('reports several problems at once, one line each', () => {
    const message = problemsOf(
      withChange((s) => {
        s.domainName = 'Staging.Example.com';
        s.hostedZoneId = 'bad';
        s.region = 'Europe';
        s.network.maxAzs = 1;
        s.network.natGateways = 'abc';
        s.app.web.command = 'rails server';
        s.app.environment['BAD-NAME'] = 'x';
        delete s.app.workers[0].name;
        s.app.scheduledJobs[0].schedule = 'every day';
        s.app.scheduledJobs.push({ name: 'weekly' });
      }),
    );
    const keys = problemLines(message).map((l) => l.slice(4, l.indexOf(': ')));
    expect(keys.sort()).toEqual(
      [
        'staging.domainName',
        'staging.hostedZoneId',
        'staging.region',
        'staging.network.maxAzs',
        'staging.network.natGateways',
        'staging.app.web.command',
        'staging.app.environment.BAD-NAME',
        'staging.app.workers[0].name',
        'staging.app.scheduledJobs[0].schedule',
        'staging.app.scheduledJobs[1].schedule',
      ].sort(),
    );
  });

  // A staging's host name is `<name>.<domainName>` with names of up to 63 characters, and a DNS
  // name holds at most 253: a domainName longer than 253 - 64 = 189 characters cannot work.
  test('fails when domainName is too long for a staging host name to fit in 253 characters', () => {
    const domain190 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(58)}.com`;
    expect(domain190).toHaveLength(190);
    const message = problemsOf(withChange((s) => (s.domainName = domain190)));
    expect(problemLines(message)).toHaveLength(1);
    expect(problemLines(message)[0].startsWith('  - staging.domainName: ')).toBe(true);
  });

  test('accepts a domainName of 189 characters', () => {
    const domain189 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(57)}.com`;
    const config = readStagingConfig(withChange((s) => ((s.domainName = domain189), (s.hostedZoneName = `${'c'.repeat(57)}.com`))));
    expect(config.domainName).toBe(domain189);
  });
});

describe('readStagingConfig: unknown keys, rules in words, checks across keys', () => {
  test.each([
    ['a misspelt block', (s: Json) => (s.databse = { instanceClass: 'db.r6g.large' }), 'staging.databse', 'did you mean "database"?', '{"instanceClass":"db.r6g.large"}'],
    ['a key in the wrong case', (s: Json) => (s.sweeper.idledays = 5), 'staging.sweeper.idledays', 'did you mean "idleDays"?', '5'],
    ['a key cut short', (s: Json) => (s.app.web.memory = 2048), 'staging.app.web.memory', 'did you mean "memoryMiB"?', '2048'],
    ['a misspelt key in a list element', (s: Json) => (s.app.workers[0].comand = ['x']), 'staging.app.workers[0].comand', 'did you mean "command"?', '["x"]'],
    ['a misspelt key of a branch size', (s: Json) => (s.feature.services.web.cpus = 512), 'staging.feature.services.web.cpus', 'did you mean "cpu"?', '512'],
  ])('fails on %s, saying "did you mean"', (_what, change, key, hint, shown) => {
    const lines = problemLines(problemsOf(withChange(change)));
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^  - ${key.replace(/[.[\]]/g, '\\$&')}: is not a key of .*; ${hint.replace(/[?]/g, '\\?')} \\(got ${shown.replace(/[[\]{}]/g, '\\$&')}\\)$`))]);
  });

  test('fails on a key that looks like nothing known, listing the keys there', () => {
    const lines = problemLines(problemsOf(withChange((s) => (s.cache.tier = 'gold'))));
    expect(lines).toEqual(['  - staging.cache.tier: is not a key of staging.cache; the keys there are "nodeType", "engineVersion" (got "gold")']);
  });

  test('says the rule in words, then the fix', () => {
    const lines = problemLines(problemsOf(withChange((s) => (s.prefix = 'my-staging'))));
    expect(lines).toEqual([
      '  - staging.prefix: must be 1 to 20 lower-case letters and digits, starting with a letter, no hyphens; write it like "staging" (got "my-staging")',
    ]);
  });

  test('fails when region is missing: the CDK CLI would pick us-east-1 without a word', () => {
    expect(problemLines(problemsOf(withChange((s) => delete s.region)))).toEqual(['  - staging.region: is required, e.g. "eu-west-1" (got undefined)']);
  });

  test('fails when domainName is outside hostedZoneName, at synth rather than during the first deploy', () => {
    const lines = problemLines(problemsOf(withChange((s) => (s.domainName = 'staging.example.org'))));
    expect(lines).toEqual([
      '  - staging.domainName: must be staging.hostedZoneName ("example.com") or a subdomain of it, because its records go in that zone; e.g. "staging.example.com", or correct hostedZoneName and hostedZoneId (got "staging.example.org")',
    ]);
  });

  test('accepts domainName equal to hostedZoneName, and refuses a look-alike suffix', () => {
    expect(readStagingConfig(withChange((s) => (s.domainName = 'example.com'))).domainName).toBe('example.com');
    expect(problemLines(problemsOf(withChange((s) => (s.domainName = 'badexample.com'))))[0]).toMatch(/^  - staging\.domainName: must be staging\.hostedZoneName/);
  });

  test('fails when network.vpcId comes without staging.account: the look-up needs both it and credentials', () => {
    const lines = problemLines(problemsOf(withChange((s) => (s.network = { vpcId: 'vpc-0123456789abcdef0' }))));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^  - staging\.network\.vpcId: is looked up .* needs AWS credentials and staging\.account; add "account"/);
  });

  test('fails when a Solr mode lacks what it needs', () => {
    const lines = problemLines(problemsOf(withChange((s) => (s.feature.solr = { mode: 'restore' }))));
    expect(lines).toEqual([
      '  - staging.feature.solr.sourceCollection: is required with mode "restore", e.g. "products" (got undefined)',
      '  - staging.feature.solr.backupLocation: is required with mode "restore", e.g. "/var/solr/backups" (got undefined)',
    ]);
  });

  test('fails when sweeper.warningHours is not shorter than idleDays', () => {
    expect(problemLines(problemsOf(withChange((s) => (s.sweeper = { idleDays: 1, warningHours: 24 }))))).toEqual([
      '  - staging.sweeper.warningHours: must be shorter than staging.sweeper.idleDays (1 days = 24 hours) (got 24)',
    ]);
  });

  test('reads the stagings page\'s options, and refuses bad ones naming the key', () => {
    expect(readStagingConfig(example()).stagingsPage).toEqual({});
    const page = { enabled: 'true', maxKeepDays: 30, destroyClaim: 'groups', destroyClaimValues: ['staging-admins'] };
    expect(readStagingConfig(withChange((s) => (s.stagingsPage = page))).stagingsPage).toEqual({ ...page, enabled: true });
    expect(problemLines(problemsOf(withChange((s) => (s.stagingsPage = { maxKeepDays: 0, destroyClaim: 'my groups', destroyClaimValues: 'admins' }))))).toEqual([
      expect.stringMatching(/^ {2}- staging\.stagingsPage\.maxKeepDays: .*\(got 0\)$/),
      expect.stringMatching(/^ {2}- staging\.stagingsPage\.destroyClaim: .*without spaces.*\(got "my groups"\)$/),
      expect.stringMatching(/^ {2}- staging\.stagingsPage\.destroyClaimValues: must be a list of strings, e\.g\. \["staging-admins"\] \(got "admins"\)$/),
    ]);
  });

  test('reads the options the README used to leave out', () => {
    const config = readStagingConfig(
      withChange((s) => {
        s.sweeper.retainResourcesOnDeleteFailed = 'true';
        s.feature.solr = { mode: 'restore', sourceCollection: 'products', backupLocation: '/backups', backupRepository: 's3' };
      }),
    );
    expect(config.sweeper.retainResourcesOnDeleteFailed).toBe(true);
    expect(config.feature.solr).toEqual({ mode: 'restore', sourceCollection: 'products', backupLocation: '/backups', backupRepository: 's3' });
    expect(readStagingConfig(withChange((s) => (s.feature.solr = { mode: 'empty', sourceCollection: 'products', configSet: 'products_v2' }))).feature.solr.configSet).toBe(
      'products_v2',
    );
  });

  test('applies the defaults of the schema', () => {
    const config = readStagingConfig(withChange((s) => delete s.feature));
    expect(config.feature).toEqual({ services: {}, database: { mode: 'snapshot' }, cache: { mode: 'dedicated' }, solr: { mode: 'shared' } });
  });
});

describe('readBranchContext', () => {
  /** The lines of the StagingInputError that `f` throws. */
  function linesOf(f: () => unknown): readonly string[] {
    try {
      f();
    } catch (e) {
      if (e instanceof StagingInputError) return e.lines;
      throw e;
    }
    throw new Error('did not throw');
  }

  test('no branch and no branch flag: the shared stack', () => {
    expect(readBranchContext({ staging: {}, '@aws-cdk/core:checkSecretUsage': true })).toBeUndefined();
  });

  test('reads the flags, strings as -c passes them', () => {
    expect(readBranchContext({ branch: 'feature/x', lite: 'true', image: 'app:1', env: '{"A":"1"}', refreshData: 'false' })).toEqual({
      branch: 'feature/x',
      lite: true,
      image: 'app:1',
      environment: { A: '1' },
      refreshData: false,
      allowKindSwitch: false,
    });
  });

  test('reads the last deploy\'s commit and pull request; an empty -c pullRequest (a run without one) is none', () => {
    expect(readBranchContext({ branch: 'feature/x', commit: '3f2a1bc0d9e8', pullRequest: '12' })).toMatchObject({ commit: '3f2a1bc0d9e8', pullRequest: '12' });
    expect(readBranchContext({ branch: 'feature/x', pullRequest: 12 })).toMatchObject({ pullRequest: '12' });
    expect(readBranchContext({ branch: 'feature/x', pullRequest: 'https://github.com/acme/app/pull/12' })).toMatchObject({ pullRequest: 'https://github.com/acme/app/pull/12' });
    const none = readBranchContext({ branch: 'feature/x', pullRequest: '' });
    expect(none).not.toHaveProperty('commit');
    expect(none?.pullRequest).toBeUndefined();
  });

  test('fails on a commit or pull request that is not one, naming the key, the value and the form', () => {
    expect(linesOf(() => readBranchContext({ branch: 'feature/x', commit: 'main', pullRequest: '#12' }))).toEqual([
      'Invalid branch context (-c):',
      '  - commit: must be a git commit id of 7 to 40 hex digits, e.g. "3f2a1bc0d9e8" (git rev-parse HEAD) (got "main")',
      '  - pullRequest: must be the pull request number (a positive whole number, e.g. "12") or its https:// URL (got "#12")',
    ]);
  });

  test.each(['lite', 'image', 'env', 'refreshData', 'allowKindSwitch', 'commit', 'pullRequest'])('fails when -c %s comes without -c branch, naming branch', (key) => {
    const value = key === 'env' ? '{"A":"1"}' : key === 'image' ? 'app:1' : key === 'commit' ? '3f2a1bc' : key === 'pullRequest' ? '12' : 'true';
    expect(linesOf(() => readBranchContext({ [key]: value }))).toEqual([
      'Invalid branch context (-c):',
      `  - ${key}: applies to a branch staging, but no branch was given; add -c branch=$(git branch --show-current), or leave -c ${key} out to synthesize the shared stack (got ${JSON.stringify(value)})`,
    ]);
  });

  test.each([
    ['Branch', 'branch'],
    ['lit', 'lite'],
    ['refreshdata', 'refreshData'],
    ['imgae', 'image'],
    ['Staging', 'staging'],
  ])('fails on the near miss -c %s, saying "did you mean %s"', (key, meant) => {
    const lines = linesOf(() => readBranchContext({ branch: 'feature/x', [key]: 'true' }));
    expect(lines).toEqual(['Invalid branch context (-c):', `  - ${key}: is not a context key of the ready-made app; did you mean "${meant}"? ${KEYS_AND_MODES} (got "true")`]);
  });

  /** The end of every unknown-key line: the -c keys, and where the data modes are. */
  const KEYS_AND_MODES =
    'its -c keys are branch, lite, image, env, refreshData, allowKindSwitch, commit, pullRequest, and data modes and every other setting are in the "staging" block of cdk.json (staging.feature.database.mode, staging.feature.cache.mode, staging.feature.solr.mode)';

  // Each of these once passed silently and synthesized the shared stack: `cdk deploy` with the slip updated the shared staging.
  test.each([
    ['branches', 'branch'],
    ['branchName', 'branch'],
    ['branch_name', 'branch'],
    ['environment', 'env'],
  ])('fails on -c %s=x, without a branch too, suggesting %s and listing the -c keys', (key, meant) => {
    expect(linesOf(() => readBranchContext({ [key]: 'x' }))).toEqual([
      'Invalid branch context (-c):',
      `  - ${key}: is not a context key of the ready-made app; did you mean "${meant}"? ${KEYS_AND_MODES} (got "x")`,
    ]);
  });

  test.each(['database', 'cache', 'solr', 'dev', 'team'])('fails on -c %s=..., a key that looks like nothing of ours, saying where data modes are set', (key) => {
    expect(linesOf(() => readBranchContext({ branch: 'feature/x', [key]: 'template' }))).toEqual([
      'Invalid branch context (-c):',
      `  - ${key}: is not a context key of the ready-made app; ${KEYS_AND_MODES} (got "template")`,
    ]);
  });

  test('fails on -c staging.<key>: one key of the block cannot be set with -c', () => {
    expect(linesOf(() => readBranchContext({ 'staging.region': 'us-west-2' }))).toEqual([
      'Invalid branch context (-c):',
      `  - staging.region: is not read; -c cannot set one key of the staging block, edit it in cdk.json, or pass the whole block as JSON: -c staging="$(jq -c '.context.staging | .region = "us-west-2"' cdk.json)" (got "us-west-2")`,
    ]);
  });

  test.each([
    ['HEAD', 'must be a branch name, not HEAD, which git prints in a detached checkout'],
    ['', 'must be a git branch name'],
    ['  ', 'must be a git branch name'],
  ])('fails on -c branch=%j, saying what works in GitHub Actions and GitLab CI', (branch, rule) => {
    expect(linesOf(() => readBranchContext({ branch }))).toEqual([
      'Invalid branch context (-c):',
      `  - branch: ${rule}; pass the git branch: -c branch=$(git branch --show-current) in a checkout of the branch; -c branch=\${{ github.head_ref || github.ref_name }} in GitHub Actions; -c branch=$CI_COMMIT_REF_NAME in GitLab CI (got ${JSON.stringify(branch)})`,
    ]);
  });

  test.each([
    ['https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1', /it starts with "https:\/\/"/],
    ['MyApp:Latest', /it has an upper-case repository "MyApp"/],
    ['app:', /it has an empty tag/],
  ])('fails on -c image=%s, an image Docker cannot pull', (image, reason) => {
    const lines = linesOf(() => readBranchContext({ branch: 'feature/x', image }));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^ {2}- image: is not an image Docker can pull: /);
    expect(lines[1]).toMatch(reason);
    expect(lines[1]).toMatch(new RegExp(`; write it like "123456789012\\.dkr\\.ecr\\.eu-west-1\\.amazonaws\\.com/app:3f2a1bc" \\(got ${JSON.stringify(image).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)$`));
  });

  test("passes CDK's own keys: feature flags, what the CDK CLI adds, cached look-ups, cdk acknowledge", () => {
    const cdkKeys = {
      '@aws-cdk/core:checkSecretUsage': true,
      '@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver': true,
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:enable-asset-metadata': true,
      'aws:cdk:version-reporting': true,
      'aws:cdk:bundling-stacks': ['**'],
      'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a'],
      'acknowledged-issue-numbers': [32775],
    };
    expect(readBranchContext({ branch: 'feature/x', ...cdkKeys })?.branch).toBe('feature/x');
    expect(readBranchContext(cdkKeys)).toBeUndefined();
  });
});

describe('the README and the schema agree', () => {
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

  test('the configuration table is the one generated from the schema (npx tsx bin/config-table.ts --write)', () => {
    expect(readmeTable(readme)).toBe(configurationTable());
  });

  test('the table has every key, including those it once left out', () => {
    const keys = configurationRows().map((r) => r.key);
    expect(keys).toEqual(expect.arrayContaining(['sweeper.retainResourcesOnDeleteFailed', 'feature.solr.backupRepository', 'feature.solr.configSet', 'region']));
    expect(configurationRows().find((r) => r.key === 'region')?.default).toBe('required');
  });

  test('the error messages the README quotes are the real ones', () => {
    const quoted = [
      problemLines(problemsOf(withChange((s) => (s.prefix = 'my-staging'))))[0],
      problemLines(problemsOf(withChange((s) => (s.network.maxAzs = 1))))[0],
      problemLines(problemsOf(withChange((s) => (s.sweeper.idledays = 5))))[0],
    ];
    for (const line of quoted) expect(readme).toContain(line.slice(4));
  });
});

describe('staging.access: who may reach the stagings', () => {
  const withAccess = (access: unknown) => withChange((s) => (s.access = access));

  test('the example config locks the stagings behind an OIDC sign-in, with an automation token', () => {
    const config = readStagingConfig(example());
    expect(config.access?.oidc?.issuer).toBe('https://example.okta.com');
    expect(config.access?.automation?.tokenSecretName).toBe('staging/automation-token');
    expect(config.access?.public).toBeUndefined();
  });

  test('fails when access is left out, listing the four choices', () => {
    const message = problemsOf(withAccess(undefined));
    expect(problemLines(message)).toEqual([expect.stringMatching(/^  - staging\.access: is required: say who may reach the stagings; add one of "oidc".*"cognito".*"allowNetworks".*"public": true/)]);
  });

  test.each([
    ['an issuer that is not https', { oidc: { ...example().access.oidc, issuer: 'http://example.okta.com' } }, /staging\.access\.oidc\.issuer: must be an https:\/\/ URL.*\(got "http:\/\/example\.okta\.com"\)/],
    ['a missing client secret', { oidc: { ...example().access.oidc, clientSecretName: undefined } }, /staging\.access\.oidc\.clientSecretName: is required/],
    ['an invalid CIDR', { allowNetworks: ['203.0.113.0/33'] }, /staging\.access\.allowNetworks\[0\]: is not an IPv4 CIDR.*\(got "203\.0\.113\.0\/33"\)/],
    ['a CIDR that is a host name', { allowNetworks: ['office.example.com'] }, /staging\.access\.allowNetworks\[0\]: is not a CIDR such as 203\.0\.113\.0\/24/],
    ['a public path that is not a path pattern', { public: undefined, allowNetworks: ['203.0.113.0/24'], publicPaths: ['webhooks/*'] }, /staging\.access\.publicPaths\[0\]: is not a path pattern: it starts with "\/".*\(got "webhooks\/\*"\)/],
    ['an automation header the ALB cannot match', { allowNetworks: ['203.0.113.0/24'], automation: { tokenSecretName: 'staging/token', headerName: 'x token' } }, /staging\.access\.automation\.headerName: is not a header name the load balancer can match.*\(got "x token"\)/],
    ['an automation header the ALB sets itself', { allowNetworks: ['203.0.113.0/24'], automation: { tokenSecretName: 'staging/token', headerName: 'X-Amzn-Oidc-Data' } }, /headerName: is a header the load balancer sets or reads itself/],
    ['public combined with another choice', { public: true, allowNetworks: ['203.0.113.0/24'] }, /staging\.access\.public: cannot be combined with allowNetworks: public means no lock/],
    ['two sign-ins', { oidc: example().access.oidc, cognito: {} }, /staging\.access: give one sign-in, "oidc" or "cognito", not both/],
    ['no way in at all', { publicPaths: ['/webhooks/*'] }, /staging\.access: names no way in; add one of "oidc"/],
    ['five CIDRs', { allowNetworks: ['10.0.0.0/8', '10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16', '10.4.0.0/16'] }, /allowNetworks: holds at most 4 CIDRs/],
    ['a typo in a key', { oidc: example().access.oidc, autmation: {} }, /staging\.access\.autmation: .*did you mean "automation"/],
  ])('fails on %s, naming the key, the value and the fix', (_what, access, pattern) => {
    expect(problemsOf(withAccess(access))).toMatch(pattern);
  });

  test('networks alone, Cognito, and public each parse', () => {
    expect(readStagingConfig(withAccess({ allowNetworks: ['203.0.113.0/24', '2001:db8::/32'] })).access?.allowNetworks).toHaveLength(2);
    expect(readStagingConfig(withAccess({ cognito: { identityProviders: ['Okta'] } })).access?.cognito?.identityProviders).toEqual(['Okta']);
    expect(readStagingConfig(withAccess({ public: true })).access?.public).toBe(true);
  });
});
