/**
 * An in-memory SSM and CloudFormation for the staging-quota handler's tests and its 500-branch
 * simulation, behind aws-sdk-client-mock, faithful where the allocation depends on it:
 *
 * - PutParameter with Overwrite=false fails with ParameterAlreadyExists when the name exists (the
 *   atomic step); with Overwrite=true it replaces the value and bumps the version. Every write
 *   stamps LastModifiedDate from the clock.
 * - DeleteParameter and GetParameter fail with ParameterNotFound for a missing name.
 * - GetParametersByPath returns the parameters directly below a path (or all below, Recursive),
 *   at most 10 a page (SSM's largest page), with a NextToken that continues after the last name
 *   returned: writes between pages show or not as they would in SSM.
 * - DescribeStacks lists the stacks of the world (100 a page), or one by StackName (ID or name).
 *
 * `beforeEachCall` runs before each call takes effect; the simulation yields to a fast-check
 * scheduler there, so the calls of concurrent deploys interleave in any order.
 */
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { DeleteParameterCommand, GetParameterCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient, type Parameter } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';

/** SSM's error shapes, as the SDK throws them (the handler checks `name`). */
function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

interface Stored {
  readonly value: string;
  readonly version: number;
  readonly lastModifiedMs: number;
}

/** How many SSM calls of each kind a run made. */
export type CallCounts = Record<string, number>;

export class FakeAws {
  public readonly parameters = new Map<string, Stored>();
  /** The stacks DescribeStacks lists. */
  public stacks: Stack[] = [];
  /** Stack names a listing (DescribeStacks without a name) misses, as a listing read page by page may; asked by name they are found. */
  public readonly missedByListing = new Set<string>();
  public readonly calls: CallCounts = {};
  /** Runs before each call takes effect. */
  public beforeEachCall: () => Promise<void> = async () => {};
  /** Calls that fail (by kind, e.g. `GetParameter`), with this error, until cleared. */
  public readonly failing = new Map<string, Error>();
  /** The time writes are stamped with. */
  public now: () => number = () => Date.now();

  public readonly ssm = mockClient(SSMClient);
  public readonly cloudformation = mockClient(CloudFormationClient);

  constructor() {
    this.install();
  }

  /** Forgets every parameter, stack, count and failure. */
  public clear(): void {
    this.parameters.clear();
    this.stacks = [];
    this.missedByListing.clear();
    this.failing.clear();
    for (const k of Object.keys(this.calls)) delete this.calls[k];
  }

  /** Restores the real clients. */
  public restore(): void {
    this.ssm.restore();
    this.cloudformation.restore();
  }

  public put(name: string, value: string, overwrite = false): void {
    const old = this.parameters.get(name);
    if (old && !overwrite) throw awsError('ParameterAlreadyExists', `The parameter ${name} already exists.`);
    this.parameters.set(name, { value, version: (old?.version ?? 0) + 1, lastModifiedMs: this.now() });
  }

  /** The values below `path` (recursively), by name: what the tests look at. */
  public valuesBelow(path: string): Map<string, string> {
    return new Map([...this.parameters].filter(([n]) => n.startsWith(`${path}/`)).map(([n, p]) => [n, p.value]));
  }

  private count(kind: string): void {
    this.calls[kind] = (this.calls[kind] ?? 0) + 1;
  }

  private parameter(name: string, p: Stored): Parameter {
    return { Name: name, Value: p.value, Type: 'String', Version: p.version, LastModifiedDate: new Date(p.lastModifiedMs) };
  }

  private install(): void {
    this.ssm.on(PutParameterCommand).callsFake(async (input) => {
      await this.step('PutParameter');
      this.put(input.Name, input.Value, input.Overwrite === true);
      return { Version: this.parameters.get(input.Name)!.version };
    });
    this.ssm.on(GetParameterCommand).callsFake(async (input) => {
      await this.step('GetParameter');
      const p = this.parameters.get(input.Name);
      if (!p) throw awsError('ParameterNotFound', `Parameter ${input.Name} not found.`);
      return { Parameter: this.parameter(input.Name, p) };
    });
    this.ssm.on(DeleteParameterCommand).callsFake(async (input) => {
      await this.step('DeleteParameter');
      if (!this.parameters.delete(input.Name)) throw awsError('ParameterNotFound', `Parameter ${input.Name} not found.`);
      return {};
    });
    this.ssm.on(GetParametersByPathCommand).callsFake(async (input) => {
      await this.step('GetParametersByPath');
      const max = input.MaxResults ?? 10;
      if (max > 10) throw awsError('ValidationException', 'MaxResults must be at most 10');
      const root = `${input.Path.replace(/\/$/, '')}/`;
      const names = [...this.parameters.keys()]
        .filter((n) => n.startsWith(root) && (input.Recursive || !n.slice(root.length).includes('/')))
        .filter((n) => input.NextToken === undefined || n > input.NextToken)
        .sort();
      const page = names.slice(0, max);
      return {
        Parameters: page.map((n) => this.parameter(n, this.parameters.get(n)!)),
        NextToken: names.length > max ? page[page.length - 1] : undefined,
      };
    });
    this.cloudformation.on(DescribeStacksCommand).callsFake(async (input) => {
      await this.step('DescribeStacks');
      if (input.StackName) {
        const stack = this.stacks.find((s) => s.StackId === input.StackName || s.StackName === input.StackName);
        if (!stack) throw awsError('ValidationError', `Stack with id ${input.StackName} does not exist`);
        return { Stacks: [stack] };
      }
      const listed = this.stacks.filter((s) => !this.missedByListing.has(s.StackName!));
      const start = Number(input.NextToken ?? 0);
      const page = listed.slice(start, start + 100);
      return { Stacks: page, NextToken: start + 100 < listed.length ? String(start + 100) : undefined };
    });
  }

  private async step(kind: string): Promise<void> {
    this.count(kind);
    await this.beforeEachCall();
    const failure = this.failing.get(kind);
    if (failure) throw failure;
  }
}
