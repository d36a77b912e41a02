/**
 * The wrappers every backend gets, composed here and nowhere else (outermost first):
 * retry with backoff on transient failures → a limit on concurrent operations (connections) →
 * upload and download rate limits. Retrying a save is safe: the contract makes saving identical
 * content again a no-op.
 */
import { type Backend, HoardError, isHoardError } from '../core/index.js';

export interface WrapSettings {
  /** Attempts per operation, the first included (default 5). */
  attempts?: number;
  /** First backoff in ms, doubled per attempt with ±25% jitter (default 500; a throttling reply waits 4× longer). */
  backoffMs?: number;
  /** Operations at once (default 8). */
  connections?: number;
  /** KiB/s for saves and for loads (default: unlimited). */
  uploadKiBs?: number;
  downloadKiBs?: number;
  /** Hears each retry (for logs and tests). */
  onRetry?: (op: string, attempt: number, e: HoardError) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** A counting semaphore. */
function semaphore(n: number): <T>(work: () => Promise<T>) => Promise<T> {
  let free = n;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r));
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

/** A byte-rate limiter: `take(n)` resolves when n more bytes fit under `kibs` KiB/s. */
function rateLimiter(kibs: number | undefined, sleep: (ms: number) => Promise<void>): (bytes: number) => Promise<void> {
  if (!kibs || kibs <= 0) return async () => {};
  const rate = kibs * 1024; // bytes per second
  let next = Date.now();
  return async (bytes) => {
    const now = Date.now();
    const start = Math.max(now, next);
    next = start + (bytes / rate) * 1000;
    if (next - now > 0) await sleep(next - now);
  };
}

/** `inner` with retries, a connection limit and rate limits. */
export function wrapBackend(inner: Backend, s: WrapSettings = {}): Backend {
  const attempts = Math.max(1, s.attempts ?? 5);
  const base = s.backoffMs ?? 500;
  const sleep = s.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const slot = semaphore(Math.max(1, s.connections ?? 8));
  const up = rateLimiter(s.uploadKiBs, sleep);
  const down = rateLimiter(s.downloadKiBs, sleep);

  async function retry<T>(op: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await slot(work);
      } catch (e) {
        if (!isHoardError(e) || !e.retryable || attempt >= attempts || signal?.aborted) {
          if (isHoardError(e) && e.retryable && attempt > 1)
            throw new HoardError(e.kind, `${e.message} (after ${attempt} attempts)`, {
              hint: e.hint,
              cause: e,
              context: e.context,
            });
          throw e;
        }
        s.onRetry?.(op, attempt, e);
        const wait = base * 2 ** (attempt - 1) * (e.context?.throttled ? 4 : 1) * (0.75 + Math.random() * 0.5);
        await sleep(wait);
      }
    }
  }

  return {
    get location() {
      return inner.location;
    },
    create: () => retry('create', () => inner.create()),
    exists: () => retry('exists', () => inner.exists()),
    async save(h, data, o) {
      await up(data.length);
      return retry(`save ${h.type}`, () => inner.save(h, data, o), o?.signal);
    },
    async load(h, o) {
      const buf = await retry(`load ${h.type}`, () => inner.load(h, o), o?.signal);
      await down(buf.length);
      return buf;
    },
    stat: (h) => retry('stat', () => inner.stat(h)),
    remove: (h) => retry('remove', () => inner.remove(h)),
    async *list(type, o) {
      // a listing is gathered whole, then yielded: a retried listing never repeats names
      const items = await retry(
        `list ${type}`,
        async () => {
          const out = [];
          for await (const f of inner.list(type, o)) out.push(f);
          return out;
        },
        o?.signal,
      );
      yield* items;
    },
    close: () => inner.close(),
  };
}
