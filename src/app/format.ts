/** Text for durations as every door shows them (the CLI's render re-exports it). */

/** "45 s", "12 min", "5 h", "3 d". */
export function span(ms: number): string {
  const s = Math.abs(ms) / 1000;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** A restore time: "2.1 s" below ten seconds, else as span(). */
export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : span(ms);
}
