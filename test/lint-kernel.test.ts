/**
 * The kernel rule of eslint.config.mjs bites: lambda/ and cli/ import only lib/contract/, and
 * lib/contract/ imports no CDK and nothing else of lib/ (README, "Architecture"). ESLint loads its
 * flat config by dynamic import, which jest's VM refuses, so one node process lints every case.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..');

const forbidden: Array<[string, string]> = [
  ['lambda/sweeper/x.ts', "import { SharedStaging } from '../../lib/shared-staging';"],
  ['lambda/sweeper/x.ts', "import { grantReadParameterTree } from '../../lib/private/grants';"],
  ['cli/commands/x.ts', "import { StagingNames } from '../../lib';"],
  ['lib/contract/x.ts', "import { Stack } from 'aws-cdk-lib';"],
  ['lib/contract/x.ts', "import * as iam from 'aws-cdk-lib/aws-iam';"],
  ['lib/contract/x.ts', "import { Construct } from 'constructs';"],
  ['lib/contract/x.ts', "import { parameterArn } from '../private/grants';"],
  ['lib/contract/providers/x.ts', "import { SharedStaging } from '../../shared-staging';"],
  ['bin/x.ts', "import { parameterArn } from '../lib/private/grants';"],
];
const allowed: Array<[string, string]> = [
  ['lambda/sweeper/x.ts', "import { TagKeys } from '../../lib/contract/staging';"],
  ['cli/commands/x.ts', "import { StagingNames } from '../../lib/contract/naming';"],
  ['lib/contract/x.ts', "import { TagKeys } from './staging';"],
  ['lib/contract/providers/x.ts', "import { SharedParameterNames } from '../staging';"],
  ['bin/x.ts', "import { SharedStaging } from '../lib/shared-staging';"],
];

/** The no-restricted-imports messages of each case, linted as if it were that file. */
const findings: string[][] = JSON.parse(
  execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { ESLint } from 'eslint';
       const eslint = new ESLint({ cwd: process.argv[1] });
       const cases = JSON.parse(process.argv[2]);
       const out = [];
       for (const [file, code] of cases) {
         const [r] = await eslint.lintText(code + '\\nexport {};\\n', { filePath: process.argv[1] + '/' + file });
         out.push(r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message));
       }
       console.log(JSON.stringify(out));`,
      root,
      JSON.stringify([...forbidden, ...allowed]),
    ],
    { cwd: root, encoding: 'utf8' },
  ),
);

test.each(forbidden.map((c, i) => [...c, i] as const))('%s may not: %s', (_file, _code, i) => {
  expect(findings[i]).toHaveLength(1);
});

test.each(allowed.map((c, i) => [...c, forbidden.length + i] as const))('%s may: %s', (_file, _code, i) => {
  expect(findings[i]).toEqual([]);
});
