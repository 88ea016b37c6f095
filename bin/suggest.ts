/**
 * "Did you mean": the known name that an unknown one was probably meant to be, or undefined.
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
