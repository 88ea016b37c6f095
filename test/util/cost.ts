import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../cli/program';
import { FeatureOutputs } from '../../lib/contract/staging';
import { fakeIo } from '../cli/fake-io';

export interface CostFigures {
  readonly awake: string;
  readonly asleep: string;
  readonly region: string;
  readonly asOf: string;
  /** What follows the figures: the assumptions that move them, then "no price for X in Y". */
  readonly notes: string[];
}

/** The StagingCostPerDay output of a synthesized branch template, taken apart. */
export function costOutput(json: any): CostFigures {
  const value = json.Outputs?.[FeatureOutputs.COST_PER_DAY]?.Value;
  const m = /^\$(\d+\.\d\d)\/day awake, \$(\d+\.\d\d)\/day asleep \(([a-z0-9-]+), prices as of (\d{4}-\d\d-\d\d)\)((?:; .*)?)$/.exec(String(value));
  if (!m) throw new Error(`${FeatureOutputs.COST_PER_DAY} is not "$x/day awake, $y/day asleep (region, prices as of date)": ${JSON.stringify(value)}`);
  return { awake: m[1], asleep: m[2], region: m[3], asOf: m[4], notes: m[5] ? m[5].slice(2).split('; ') : [] };
}

/** What `staging cost <template> --region <region> --json` (the CLI's offline model) says of the same template, in the same terms. */
export async function cliCost(json: any, region: string): Promise<CostFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'cost-output-'));
  try {
    const file = join(dir, 'branch.template.json');
    writeFileSync(file, JSON.stringify(json));
    const io = fakeIo();
    const code = await run(['cost', file, '--region', region, '--json'], io);
    if (code !== 0) throw new Error(`staging cost exited ${code}: ${io.err()}`);
    const j = JSON.parse(io.out());
    return { awake: j.awakePerDay.toFixed(2), asleep: j.asleepPerDay.toFixed(2), region: j.region, asOf: j.pricesAsOf, notes: [...j.assumed, ...j.missing] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
