/** Helpers to read synthesized templates in tests: resources, SSM parameters and containers. */

export function ssm(json: any, path: string): { Ref: string } {
  const ids = ssmParameterIds(json, path);
  if (ids.length !== 1) throw new Error(`expected one SSM parameter ${path} in the template, found ${ids.length}`);
  return { Ref: ids[0] };
}

export function ssmParameterIds(json: any, path: string): string[] {
  return Object.entries(json.Parameters ?? {})
    .filter(([, p]: [string, any]) => p.Default === path && String(p.Type).startsWith('AWS::SSM::Parameter::Value'))
    .map(([id]) => id);
}

export function resourcesOfType(json: any, type: string): Array<[string, any]> {
  return Object.entries(json.Resources as Record<string, any>).filter(([, r]) => r.Type === type);
}

export function onlyId(json: any, type: string): string {
  const found = resourcesOfType(json, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0][0];
}

export function only(json: any, type: string): any {
  return json.Resources[onlyId(json, type)];
}

export interface Container {
  readonly taskDefinition: string;
  readonly service: string;
  readonly environment: Record<string, unknown>;
  readonly environmentNames: string[];
  readonly secrets: Record<string, unknown>;
  readonly raw: any;
}

/** Every container of every task definition, with its environment and secrets as maps. */
export function containers(json: any): Container[] {
  return resourcesOfType(json, 'AWS::ECS::TaskDefinition').flatMap(([id, r]) =>
    (r.Properties.ContainerDefinitions as any[]).map((c) => {
      const env = (c.Environment ?? []) as Array<{ Name: string; Value: unknown }>;
      const environment = Object.fromEntries(env.map((e) => [e.Name, e.Value]));
      return {
        taskDefinition: id,
        service: String(environment.STAGING_SERVICE),
        environment,
        environmentNames: env.map((e) => e.Name),
        secrets: Object.fromEntries(((c.Secrets ?? []) as Array<{ Name: string; ValueFrom: unknown }>).map((s) => [s.Name, s.ValueFrom])),
        raw: c,
      };
    }),
  );
}

export function container(json: any, service: string): Container {
  const found = containers(json).filter((c) => c.service === service);
  if (found.length !== 1) throw new Error(`expected one container of service ${service}, found ${found.length}`);
  return found[0];
}

export const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });

/** Resources of a branch stack that do not DependsOn its `Custom::StagingQuota` directly (the quota itself aside). */
export function notAfterQuota(json: any): string[] {
  const quota = onlyId(json, 'Custom::StagingQuota');
  return Object.entries(json.Resources as Record<string, any>)
    .filter(([id, r]) => id !== quota && ![].concat(r.DependsOn ?? []).includes(quota as never))
    .map(([id]) => id);
}
