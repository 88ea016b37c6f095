/** Reading the templates `staging cost` prices offline: one template file, or a cdk.out directory. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StagingKinds, TagKeys } from '../../lib/contract/staging';
import { CliError } from '../io';

export interface LoadedTemplate {
  readonly stackName: string;
  readonly template: any;
  /** From the cloud assembly's environment, when it names one. */
  readonly region?: string;
  readonly shared: boolean;
}

/** Whether a template is a shared stack's (it publishes the parameter prefix). */
export function isSharedTemplate(template: any): boolean {
  return template?.Outputs?.SharedStagingParameterPrefix !== undefined;
}

/** The templates at `path`: a `*.json` template, or every stack of a cdk.out directory. */
export function loadTemplates(path: string): LoadedTemplate[] {
  if (!existsSync(path)) throw new CliError(`No such file or directory: ${path}. Pass a template (cdk.out/<stack>.template.json), a cdk.out directory (run npx cdk synth first) or a branch.`);
  if (statSync(path).isDirectory()) {
    const manifestFile = join(path, 'manifest.json');
    if (!existsSync(manifestFile)) throw new CliError(`${path} has no manifest.json: it is not a cloud assembly. Run npx cdk synth (it writes cdk.out) and pass that directory.`);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    const stacks: LoadedTemplate[] = [];
    for (const [id, artifact] of Object.entries<any>(manifest.artifacts ?? {})) {
      if (artifact.type !== 'aws:cloudformation:stack') continue;
      const template = readJson(join(path, artifact.properties.templateFile));
      const region = /^aws:\/\/[^/]+\/([a-z0-9-]+)$/.exec(String(artifact.environment ?? ''))?.[1];
      const kind = artifact.properties?.tags?.[TagKeys.KIND];
      stacks.push({
        stackName: artifact.properties?.stackName ?? id,
        template,
        region: region === 'unknown-region' ? undefined : region,
        shared: kind === StagingKinds.SHARED || isSharedTemplate(template),
      });
    }
    if (stacks.length === 0) throw new CliError(`${path} holds no stack templates. Run npx cdk synth first.`);
    return stacks;
  }
  const template = readJson(path);
  if (!template.Resources) throw new CliError(`${path} is not a CloudFormation template (no Resources).`);
  const name = path.replace(/^.*\//, '').replace(/\.template\.json$|\.json$/, '');
  return [{ stackName: name, template, region: regionInTemplate(template), shared: isSharedTemplate(template) }];
}

function readJson(file: string): any {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e: any) {
    throw new CliError(`Cannot read ${file} as JSON: ${e.message}`);
  }
}

/** A region written into the template's ARNs (CDK writes them for env-bound stacks), if any. */
function regionInTemplate(template: any): string | undefined {
  return /arn:aws:[a-z0-9-]+:([a-z]{2}-[a-z]+-\d):/.exec(JSON.stringify(template))?.[1];
}
