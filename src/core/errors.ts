/**
 * The one error type of hoard. Every failure that reaches a user is a HoardError whose `kind`
 * decides the exit code (see src/cli/exit-codes.ts) and whose `message` + `hint` are the one- or
 * two-line text a user sees. `context` carries machine-readable details for --json; it must never
 * hold secrets. Anything else thrown is a bug and is reported as kind "internal".
 */
export type ErrorKind =
  | 'usage' // bad flags or arguments
  | 'config' // bad configuration or validation error
  | 'no-space' // disk full
  | 'db-connection' // database connection failed
  | 'tool' // backup tool missing or incompatible
  | 'verify' // verification found damage
  | 'partial' // some source files could not be read
  | 'repo-missing' // repository does not exist
  | 'locked' // repository is locked
  | 'wrong-password' // no key file opens with the password
  | 'interrupted' // cancelled by signal / AbortSignal
  | 'not-found' // a snapshot, file or object does not exist
  | 'corrupt' // repository data fails to decrypt, hash or parse
  | 'io' // storage or file system failure
  | 'command-failed' // a child process (dump tool, --stdin-from-command) failed
  | 'not-allowed' // refused by policy: e.g. a restore target hoard.yaml does not name
  | 'internal';

export interface HoardErrorOptions {
  hint?: string;
  context?: Record<string, unknown>;
  cause?: unknown;
  retryable?: boolean;
}

export class HoardError extends Error {
  readonly kind: ErrorKind;
  readonly hint?: string;
  readonly context: Record<string, unknown>;
  readonly retryable: boolean;

  constructor(kind: ErrorKind, message: string, opts: HoardErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'HoardError';
    this.kind = kind;
    this.hint = opts.hint;
    this.context = opts.context ?? {};
    this.retryable = opts.retryable ?? false;
  }
}

/** True when `e` is a HoardError, optionally of the given kind. */
export function isHoardError(e: unknown, kind?: ErrorKind): e is HoardError {
  return e instanceof HoardError && (kind === undefined || e.kind === kind);
}

/** The kind of a failure from the file system or elsewhere: a HoardError's own, "no-space" for a full disk or quota, else "io". */
export function failureKind(e: unknown): ErrorKind {
  if (isHoardError(e)) return e.kind;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' ? 'no-space' : 'io';
}

/** Throws kind "interrupted" when the signal has fired; call between units of work. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new HoardError('interrupted', 'interrupted', { cause: signal.reason });
}
