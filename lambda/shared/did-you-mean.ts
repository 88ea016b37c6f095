/** Hints for refused event keys, shared by the handlers that take manual invocations (sweeper, sleeper). */

/** ` (did you mean "dryRun"?)` for a key that differs only in case, separators or a typo or two. */
export function suggestion(key: string, known: readonly string[]): string {
  const fold = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const match = known.find((k) => fold(k) === fold(key)) ?? known.find((k) => editDistance(fold(k), fold(key)) <= 2);
  if (match) return ` (did you mean "${match}"?)`;
  return known.length === 1 ? ` (the only key is "${known[0]}")` : ` (the keys are "${known.join('", "')}")`;
}

export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length];
}
