/**
 * A backend whose implementation module is imported on first use. The S3 SDK and ssh2 take about
 * a tenth of a second each to load; commands on a local repository (most of them) never pay it.
 */
import type { Backend } from '../core/index.js';

export function lazyBackend(location: string, load: () => Promise<Backend>): Backend {
  let inner: Promise<Backend> | undefined;
  const get = () => (inner ??= load());
  return {
    location,
    create: async () => (await get()).create(),
    exists: async () => (await get()).exists(),
    save: async (h, data, o) => (await get()).save(h, data, o),
    load: async (h, o) => (await get()).load(h, o),
    stat: async (h) => (await get()).stat(h),
    remove: async (h) => (await get()).remove(h),
    async *list(type, o) {
      yield* (await get()).list(type, o);
    },
    // closing a backend that was never used loads nothing
    close: async () => {
      if (inner) await (await inner).close();
    },
  };
}
