import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * scripts/check-python-example.py, which checks the README's Python examples against the
 * bindings jsii-pacmak generates (npm run check:python-example). Here against a small module
 * written the way pacmak writes its classes.
 */

const SCRIPT = join(__dirname, '..', 'scripts', 'check-python-example.py');

const BINDINGS = `
import builtins
import typing
import jsii
import constructs as _constructs_77d1e7e8

class StagingNames(metaclass=jsii.JSIIMeta, jsii_type="x.StagingNames"):
    @jsii.member(jsii_name="fromBranch")
    @builtins.classmethod
    def from_branch(cls, branch: builtins.str, prefix: typing.Optional[builtins.str] = None) -> "StagingNames":
        ...

    @builtins.property
    @jsii.member(jsii_name="stackName")
    def stack_name(self) -> builtins.str:
        ...

class WebServiceOptions:
    def __init__(self, *, name: builtins.str, memory_limit_mib: typing.Optional[jsii.Number] = None) -> None:
        ...

class SharedStaging(_constructs_77d1e7e8.Construct, metaclass=jsii.JSIIMeta, jsii_type="x.SharedStaging"):
    def __init__(self, scope, id: builtins.str, *, domain_name: builtins.str, web: WebServiceOptions) -> None:
        ...
`;

function check(example: string): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'python-example-'));
  try {
    writeFileSync(join(dir, '__init__.py'), BINDINGS);
    writeFileSync(join(dir, 'example.py'), example);
    const res = spawnSync('python3', [SCRIPT, join(dir, '__init__.py'), join(dir, 'example.py')], { encoding: 'utf8' });
    return { status: res.status, out: `${res.stdout}${res.stderr}`.replaceAll(`${dir}/`, '') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GOOD = `
from cdk_multi_staging import SharedStaging, StagingNames, WebServiceOptions

names = StagingNames.from_branch("feature/x")
SharedStaging(None, names.stack_name, domain_name="staging.example.com", web=WebServiceOptions(name="web", memory_limit_mib=512))
`;

test('passes an example that matches the bindings', () => {
  const { status, out } = check(GOOD);
  expect(out).toMatch(/compiles; 3 names, 3 calls and \d+ attribute reads match the bindings of 3 classes/);
  expect(status).toBe(0);
});

test.each([
  ['an unknown import', GOOD.replace('StagingNames, ', 'StagingNames, Nope, '), /cdk_multi_staging has no Nope/],
  ['a misspelt keyword argument', GOOD.replace('memory_limit_mib', 'memory_limit_mi_b'), /WebServiceOptions\(\) has no keyword argument memory_limit_mi_b \(it has: memory_limit_mib, name\)/],
  ['a missing required keyword', GOOD.replace('domain_name="staging.example.com", ', ''), /SharedStaging\(\) is missing domain_name/],
  ['a missing required positional', GOOD.replace('from_branch("feature/x")', 'from_branch()'), /StagingNames.from_branch\(\) is missing branch/],
  ['too many positional arguments', GOOD.replace('from_branch("feature/x")', 'from_branch("a", "b", "c")'), /takes 2 positional arguments, got 3/],
  ['an unknown attribute of a returned value', GOOD.replace('names.stack_name', 'names.stack'), /StagingNames has no attribute stack/],
  ['an unknown static method', GOOD.replace('from_branch', 'for_branch'), /StagingNames has no method for_branch/],
  ['a syntax error', `${GOOD}\nif True\n`, /does not compile/],
])('fails on %s', (_name, example, message) => {
  const { status, out } = check(example);
  expect(out).toMatch(message);
  expect(status).toBe(1);
});
