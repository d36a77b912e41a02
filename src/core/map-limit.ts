/** Bounded concurrency for independent async work. */

/**
 * Maps `items` through `fn` with at most `limit` calls running at once; results keep the order of
 * `items`. After the first failure no new call starts; the whole rejects with that failure once
 * the calls already running have settled (so a caller that then releases a lock leaves no work
 * of its own still running).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return out;
}
