/**
 * One flat, stable view of a snapshot for every front end (list, info, status, the library and
 * the API): who/what/when from restic's fields, why from hoard's metadata. Snapshots made by
 * restic itself have no hoard metadata; their fields are null and their kind is "restic".
 */
import {
  type SnapshotEntry,
  type StandingVerification,
  type VerificationRecord,
  recordsOf,
  standingVerification,
} from '../core/index.js';

/** One verification as the views show it. */
export interface VerificationView {
  level: string;
  ok: boolean;
  at: string;
  message?: string;
}

export interface BackupRecord {
  id: string;
  short_id: string;
  /** RFC 3339 time as stored. */
  time: string;
  created_ms: number;
  kind: string;
  label: string | null;
  reason: string | null;
  description: string | null;
  environment: string | null;
  source: string | null;
  source_type: string | null;
  engine: string | null;
  database: string | null;
  /** Bytes backed up (the dump's size, or the files' total). */
  size: number | null;
  /** New bytes this snapshot added to the repository (before compression), when recorded. */
  data_added: number | null;
  duration_ms: number | null;
  hostname: string;
  paths: string[];
  tags: string[];
  retention_days: number | null;
  expires_at: string | null;
  pinned: boolean;
  /** The change this backup precedes (`--ticket`), or null. */
  ticket: string | null;
  /** Who confirmed the change verified, when, and their note (`hoard confirm`), or null. */
  confirmation: Confirmation | null;
  /** A pre-change backup (a ticket, or kind pre-migration) not yet confirmed: retention leaves it alone. */
  awaiting_confirmation: boolean;
  /**
   * The snapshot's standing verification, or null: its newest failure that no newer verification of
   * at least that level has passed since, else its newest verification.
   */
  verification: VerificationView | null;
  /** The newest verification of each level (quick, read-back, drill) the snapshot has had. */
  verification_levels: Record<string, VerificationView>;
}

export interface Confirmation {
  by: string;
  at: string;
  note: string | null;
}

type Meta = {
  kind?: string;
  label?: string | null;
  reason?: string | null;
  description?: string | null;
  environment?: string | null;
  source?: { name?: string | null; type?: string } | null;
  database?: { engine?: string; name?: string | null } | null;
  size?: { dump_bytes?: number };
  duration_ms?: number;
  retention_days?: number | null;
  expires_at?: string | null;
  pinned?: boolean;
  ticket?: unknown;
  confirmation?: { by?: unknown; at?: unknown; note?: unknown } | null;
};

/** The confirmation as stored, or null when absent or not well formed (metadata is untrusted). */
function confirmationOf(c: Meta['confirmation']): Confirmation | null {
  const by = text(c?.by);
  const at = text(c?.at);
  if (!by || !at || Number.isNaN(Date.parse(at))) return null;
  return { by, at, note: text(c?.note) };
}

/**
 * Text from a snapshot's metadata as every front end shows it: control characters (which could
 * drive a terminal: a hostile repository's label may hold escape sequences) become U+FFFD, and
 * anything that is not a string is null.
 */
export const text = (v: unknown): string | null =>
  typeof v === 'string' ? v.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd') : null;
const texts = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => text(x) ?? '') : []);

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The record of one snapshot; with the repository's verification records, its latest verification. */
export function toRecord(e: SnapshotEntry, verifications?: VerificationRecord[]): BackupRecord {
  const standing = standingVerification(verifications ? recordsOf(verifications, e) : []);
  const v = standing.shown;
  const s = e.snapshot;
  const h = (s.hoard ?? {}) as Meta;
  const sum = s.summary ?? {};
  return {
    id: e.id,
    short_id: e.id.slice(0, 8),
    time: s.time,
    created_ms: e.timeMs,
    kind: text(h.kind) ?? 'restic',
    label: text(h.label),
    reason: text(h.reason),
    description: text(h.description),
    environment: text(h.environment),
    source: text(h.source?.name),
    source_type: text(h.source?.type),
    engine: text(h.database?.engine),
    database: text(h.database?.name),
    size: num(h.size?.dump_bytes) ?? num(sum.total_bytes_processed),
    data_added: num(sum.data_added),
    duration_ms: num(h.duration_ms),
    hostname: text(s.hostname) ?? '',
    paths: texts(s.paths),
    tags: texts(s.tags),
    retention_days: num(h.retention_days),
    expires_at: text(h.expires_at),
    pinned: h.pinned === true,
    ticket: text(h.ticket),
    confirmation: confirmationOf(h.confirmation),
    awaiting_confirmation:
      (text(h.kind) === 'pre-migration' || text(h.ticket) !== null) && !confirmationOf(h.confirmation),
    verification: v ? viewOf(v) : null,
    verification_levels: levelViews(standing),
  };
}

export function viewOf(v: VerificationRecord): VerificationView {
  return { level: v.level, ok: v.ok, at: v.at, message: v.message };
}

/** The newest verification of each level, as views. */
export function levelViews(s: StandingVerification): Record<string, VerificationView> {
  const order = ['quick', 'read-back', 'drill'] as const;
  return Object.fromEntries(order.flatMap((l) => (s.levels[l] ? [[l, viewOf(s.levels[l])]] : [])));
}

/** Milliseconds until expiry (negative: expired), or null when the snapshot does not expire. */
export function expiresInMs(r: BackupRecord, nowMs: number): number | null {
  if (!r.expires_at) return null;
  const t = Date.parse(r.expires_at);
  return Number.isNaN(t) ? null : t - nowMs;
}
