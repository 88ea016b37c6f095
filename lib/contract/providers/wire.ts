/**
 * What every provider contract (this folder) shares: the properties as a handler receives them,
 * and the small readers each `parseProperties` is built from. No imports.
 */

/** A tag as CloudFormation passes it. */
export interface WireTag {
  readonly Key: string;
  readonly Value: string;
}

/**
 * Properties as a handler receives them: any key of the contract may be absent or of any type,
 * and nothing outside the contract can be read.
 */
export type Wire<T> = { readonly [K in keyof T]?: unknown };

/** A property as trimmed text; undefined when absent, null or blank. */
export function optionalText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(value).trim();
  return s === '' ? undefined : s;
}

/**
 * Reads a required string property, with a message that names it. Given properties typed by a
 * contract (`Wire<...ResourceProperties>`), only its keys are accepted.
 */
export function requiredProperty<K extends string>(props: { readonly [P in K]?: unknown }, name: NoInfer<K>): string {
  const value = props[name];
  if (value === undefined || value === null || String(value).trim() === '') {
    throw new Error(`Missing required property '${name}' on the custom resource`);
  }
  return String(value);
}

/** `Tags` as a list of `{ Key, Value }` (a missing Value is ''); pushes what is wrong into `problems`. */
export function parseWireTags(raw: unknown, problems: string[]): WireTag[] {
  if (raw === undefined || raw === null || raw === '') return [];
  if (!Array.isArray(raw)) {
    problems.push(`Tags must be a list of { Key, Value }, got ${JSON.stringify(raw)}`);
    return [];
  }
  const tags: WireTag[] = [];
  for (const item of raw as unknown[]) {
    const t = (item ?? {}) as { Key?: unknown; Value?: unknown };
    if (typeof t !== 'object' || typeof t.Key !== 'string' || t.Key === '') {
      problems.push(`each tag needs a non-empty string Key, got ${JSON.stringify(item)}`);
      continue;
    }
    tags.push({ Key: t.Key, Value: t.Value === undefined || t.Value === null ? '' : String(t.Value) });
  }
  return tags;
}
