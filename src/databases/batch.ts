/** Queries over many tables are sent in runs (one UNION ALL per run), so a thousand tables cost a few queries. */

/** The items in runs of at most n. */
export function chunks<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}
