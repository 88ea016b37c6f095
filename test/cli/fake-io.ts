import { Io } from '../../cli/io';
import type { System } from '../../cli/system';

export interface FakeIo extends Io {
  readonly out: () => string;
  readonly err: () => string;
}

/** An Io that records what the CLI writes; a frozen clock; confirm answers `answer`. */
export function fakeIo(opts: { isTTY?: boolean; answer?: boolean; env?: Record<string, string>; system?: System } = {}): FakeIo {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    isTTY: opts.isTTY ?? false,
    env: { AWS_REGION: 'eu-west-1', NO_COLOR: '1', ...opts.env },
    now: () => new Date('2026-12-01T12:00:00.000Z'),
    confirm: async () => opts.answer ?? false,
    system: opts.system,
    out: () => out,
    err: () => err,
  };
}
