/** The one exit-code table (DESIGN.md §6); README "Exit codes" documents the same. */
import type { ErrorKind } from '../core/index.js';

export const EXIT = {
  ok: 0,
  failure: 1,
  noSpace: 2,
  dbConnection: 3,
  tool: 4,
  verify: 5,
  partial: 6,
  repoMissing: 10,
  locked: 11,
  wrongPassword: 12,
  /** `wal fetch` failing for any reason but "not archived": PostgreSQL aborts recovery on an exit above 125 (any other it takes as the archive's end). */
  recoveryFatal: 126,
  interrupted: 130,
} as const;

const OVERRIDE = Symbol('exit code');

/** `e` with the exit code it must end the command with, whatever its kind. */
export function withExitCode(e: unknown, code: number): unknown {
  if (e && typeof e === 'object') (e as { [OVERRIDE]?: number })[OVERRIDE] = code;
  return e;
}

/** The exit code withExitCode gave `e`, if any. */
export function exitOverride(e: unknown): number | undefined {
  return e && typeof e === 'object' ? (e as { [OVERRIDE]?: number })[OVERRIDE] : undefined;
}

/** Exit code for an error kind. Damaged repository data counts as a failed verification (5). */
export function exitCodeFor(kind: ErrorKind): number {
  switch (kind) {
    case 'no-space':
      return EXIT.noSpace;
    case 'db-connection':
      return EXIT.dbConnection;
    case 'tool':
      return EXIT.tool;
    case 'verify':
    case 'corrupt':
      return EXIT.verify;
    case 'partial':
      return EXIT.partial;
    case 'repo-missing':
      return EXIT.repoMissing;
    case 'locked':
      return EXIT.locked;
    case 'wrong-password':
      return EXIT.wrongPassword;
    case 'interrupted':
      return EXIT.interrupted;
    default:
      return EXIT.failure;
  }
}
