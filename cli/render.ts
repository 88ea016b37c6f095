/** Tables and colour: cli-table3 and picocolors, plain when stdout is not a terminal. */
import Table from 'cli-table3';
import { createColors } from 'picocolors';
import { Io } from './io';

export function colors(io: Io) {
  return createColors(io.isTTY && !io.env.NO_COLOR);
}

/**
 * A table with a header row: aligned columns two spaces apart, without borders, on a terminal
 * (with a bold header) and in a pipe alike, as the README's samples show (test/cli/commands.test.ts
 * compares them).
 */
export function table(io: Io, head: string[], rows: Array<Array<string | number>>, align?: Array<'left' | 'right'>): string {
  const c = colors(io);
  const t = new Table({
    head: head.map((h) => c.bold(h)),
    ...(align ? { colAligns: align } : {}),
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
      'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
  });
  for (const r of rows) t.push(r.map(String));
  return t.toString().split('\n').map((l) => l.trimEnd()).join('\n') + '\n';
}

export function usd(n: number, digits = 2): string {
  return `$${n.toFixed(digits)}`;
}

/** `3d 4h`, `5h`, `12m`: how long ago (or until) a date is. */
export function duration(ms: number): string {
  const m = Math.round(Math.abs(ms) / 60000);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? ` ${m % 60}m` : ''}`;
  return `${Math.floor(h / 24)}d${h % 24 ? ` ${h % 24}h` : ''}`;
}

export function writeJson(io: Io, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A shell word: bare when safe, else single-quoted (a `'` inside becomes `'\''`). */
export function quote(word: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
