/**
 * "Did you mean": the one edit-distance and near-match code of the project, for the ready-made
 * app's config and context keys (bin/), the CLI's branch and service names (cli/) and the
 * handlers' refused invocation keys and staging names (lambda/).
 */

/**
 * The known name that an unknown one was probably meant to be, or undefined.
 *
 * A near miss is the same name in other letter case (`Branch`, `refreshdata`), or one edit away
 * (a letter missing, extra, wrong or two swapped: `lit`, `imgae`), or two edits away for names of
 * eight letters or more (`idelDays`). Short names must also start with the same letter, so a
 * user's own `dev` is not taken for `env`. With `prefixes` (for the keys of the `staging` block,
 * where an unknown key fails anyway), a name that is the start of a known one, or the other way
 * round, counts too.
 */
export function nearMiss(name: string, known: readonly string[], options: { prefixes?: boolean } = {}): string | undefined {
  const lower = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const other = candidate.toLowerCase();
    if (other === lower) return candidate;
    // With `prefixes`, a name cut short or run on also counts (`memory` for `memoryMiB`).
    const [shorter, longer] = lower.length < other.length ? [lower, other] : [other, lower];
    if (options.prefixes && shorter.length >= 3 && shorter.length * 5 >= longer.length * 3 && longer.startsWith(shorter)) {
      if (!best || best.distance > 1) best = { name: candidate, distance: 1 };
      continue;
    }
    const distance = editDistance(lower, other);
    const allowed = other.length >= 8 ? 2 : 1;
    if (distance > allowed || (other.length < 8 && lower[0] !== other[0])) continue;
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best?.name;
}

/**
 * Up to three candidates close to `word` (for an unknown branch, service or staging name): those
 * containing it or contained in it first, then those within a third of its length in edits (at
 * least 2), nearest first. Letter case is ignored.
 */
export function nearMatches(word: string, candidates: readonly string[]): string[] {
  const w = word.toLowerCase();
  return candidates
    .map((c) => ({ c, d: c.toLowerCase().includes(w) || w.includes(c.toLowerCase()) ? 0 : editDistance(w, c.toLowerCase()) }))
    .filter((x) => x.d <= Math.max(2, Math.floor(w.length / 3)))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, 3)
    .map((x) => x.c);
}

/** ` (did you mean "dryRun"?)` for a key that differs only in case, separators or a typo or two. */
export function suggestion(key: string, known: readonly string[]): string {
  const fold = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const match = known.find((k) => fold(k) === fold(key)) ?? known.find((k) => editDistance(fold(k), fold(key)) <= 2);
  if (match) return ` (did you mean "${match}"?)`;
  return known.length === 1 ? ` (the only key is "${known[0]}")` : ` (the keys are "${known.join('", "')}")`;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
