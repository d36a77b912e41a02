/**
 * Pre-change confirmation (the 3-2-1 guide's "keep until the change is verified, document the
 * verification"): a backup taken with `--ticket`, and every `pre-migration` backup, awaits
 * `hoard confirm ID --by NAME [--note TEXT]`, which records who verified the change and when in the
 * snapshot's metadata (rewritten as `restic tag` does: its id changes, its first id stays). Until
 * then retention keeps it; after it, its retention counts from the confirmation: its own retention
 * days, else hoard.yaml's `retention.pre-migration` (default 7), written as its new expiry (a
 * ticketed `manual` backup included: confirming it is what lets it go).
 */
import { HoardError, amendSnapshot } from '../core/index.js';
import { retentionRuleDays } from '../config/index.js';
import type { Env } from './environment.js';
import type { Project } from './project.js';
import { withSnapshots } from './repository-access.js';
import { chooseSnapshot } from './select.js';
import { type Confirmation, toRecord } from './snapshot-view.js';

export interface ConfirmRequest {
  /** A snapshot id, prefix or label. */
  ref: string;
  /** Who verified the change. */
  by: string;
  note?: string;
}

const ONE_LINE = /^[^\u0000-\u001f\u007f]+$/;

/** Records the confirmation; returns the old and the new id. Kind "usage" for a bad request or a backup that awaits none. */
export async function confirmBackup(
  env: Env,
  p: Project,
  req: ConfirmRequest,
  o: { signal?: AbortSignal } = {},
): Promise<{ old: string; id: string; confirmation: Confirmation }> {
  const by = req.by?.trim() ?? '';
  if (!req.ref) throw new HoardError('usage', 'confirm needs a snapshot id', { hint: 'see `hoard list`' });
  if (!by || by.length > 200 || !ONE_LINE.test(by))
    throw new HoardError(
      'usage',
      'confirm needs --by NAME: who verified the change (one line, at most 200 characters)',
    );
  const note = req.note?.trim() || null;
  if (note && (note.length > 2000 || !ONE_LINE.test(note)))
    throw new HoardError('usage', '--note must be one line of at most 2,000 characters');
  return withSnapshots(
    env,
    p,
    true,
    async (repo, list) => {
      const s = chooseSnapshot(list, { ref: req.ref }, env.clock.now());
      const r = toRecord(s);
      if (r.confirmation)
        throw new HoardError(
          'usage',
          `backup ${r.short_id} was already confirmed by ${r.confirmation.by} at ${r.confirmation.at}; nothing was changed`,
        );
      if (!r.awaiting_confirmation)
        throw new HoardError(
          'usage',
          `backup ${r.short_id} awaits no confirmation: only backups taken with --ticket and pre-migration backups do`,
          { hint: 'back up with --ticket CHANGE before a change you want to confirm' },
        );
      const now = env.clock.now();
      const confirmation: Confirmation = { by, at: new Date(now).toISOString(), note };
      // its retention runs from now: its own days, else the pre-change rule (retention.pre-migration, default 7)
      const rule = retentionRuleDays(p.config.retention?.['pre-migration']);
      const days = r.retention_days ?? (rule === undefined ? 7 : rule);
      const expiry = {
        retention_days: days,
        retention_from: 'confirmation',
        expires_at: days === null ? null : new Date(now + days * 86_400_000).toISOString(),
      };
      return { old: s.id, id: await amendSnapshot(repo, s, { confirmation, ...expiry }), confirmation };
    },
    { signal: o.signal },
  );
}
