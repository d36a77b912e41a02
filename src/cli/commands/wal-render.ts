/** `hoard wal status` as text. */
import type { WalStatus } from '../../app/pitr/status.js';
import { formatBytes } from '../context.js';

export function renderWalStatus(s: WalStatus): string[] {
  const out = [`source ${s.source}: ${s.files} WAL files, ${formatBytes(s.bytes)}`];
  for (const t of s.timelines) out.push(`  timeline ${t.timeline}: ${t.segments} segments, ${t.first} to ${t.last}`);
  for (const b of s.base_backups)
    out.push(
      `  base ${b.snapshot_id.slice(0, 8)}: timeline ${b.timeline}, from ${b.start_segment}, reachable from ${b.consistent_at}`,
    );
  if (s.restorable) out.push(`  restorable from ${s.restorable.from} to ${s.restorable.to}`);
  if (s.newest_archived_at)
    out.push(
      `  newest archived ${s.newest_archived_at} (${Math.round((s.lag_ms ?? 0) / 1000)} s ago)` +
        (s.rpo_met === null ? '' : s.rpo_met ? ', within the RPO' : ', beyond the RPO'),
    );
  for (const w of s.warnings) out.push(`warning: ${w}`);
  return out;
}
