/** Bounded concurrency for independent async work. */

/**
 * Maps `items` through `fn` with at most `limit` calls running at once; results keep the order of
 * `items`. The first failure rejects the whole (calls already running are left to finish).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
