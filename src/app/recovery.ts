/**
 * Recovery-time objectives: how long a restore of a source may take (hoard.yaml's
 * `recovery_time_objective`, on the source or else on its environment), checked against the restore
 * time every drill records; and `verify.drill_max_age`, how old the newest drill of a drilled
 * source may be. Status, metrics and the scheduler's notifications all read these functions.
 */
import type { VerificationRecord } from '../core/index.js';
import { seconds, span } from './format.js';
import { entryOf, parseDuration } from '../config/index.js';
import { type Project, environmentFor, policyOf } from './project.js';
import { databaseSources } from './source-restore.js';

export interface RecoveryStatus {
  /** The objective in ms, or null when none is set. */
  objective_ms: number | null;
  /** The source's newest drill, or null when it has had none. */
  last_drill: { at: string; ok: boolean; restore_ms: number | null; restore_bytes: number | null } | null;
  /** Whether that drill's restore fitted the objective; null without an objective or a timed drill. */
  met: boolean | null;
}

/** The source's objective in ms: its own, else its environment's; null when neither sets one. */
export function objectiveOf(p: Project, source: string): number | null {
  const cfg = entryOf(p.config.sources, source);
  const own = cfg?.recovery_time_objective ? parseDuration(cfg.recovery_time_objective) : undefined;
  if (own !== undefined) return own;
  const env = environmentFor(p, cfg?.environment);
  return env ? policyOf(p, env).recovery_time_objective_ms : null;
}

/** "the restore took 2.1 s, over app-db's recovery time objective of 1 s", or undefined when it fits. */
export function objectiveMissed(p: Project, source: string, restoreMs: number): string | undefined {
  const objective = objectiveOf(p, source);
  if (objective === null || restoreMs <= objective) return undefined;
  return `${source}'s last drill took ${seconds(restoreMs)} to restore, over its recovery time objective of ${seconds(objective)}`;
}

/** The sources the scheduled drill covers, whose drills are expected: verify.drill.sources, default the database sources. */
function drilled(p: Project): Set<string> {
  return new Set(p.config.verify?.drill?.sources ?? databaseSources(p));
}

/** A source's recovery status and its warnings, from its verification records (oldest first). */
export function recoveryOf(
  p: Project,
  source: string,
  records: VerificationRecord[],
  nowMs: number,
): { status: RecoveryStatus; warnings: string[] } {
  const objective = objectiveOf(p, source);
  const last = records.filter((r) => r.level === 'drill').pop();
  const timed = last?.restore_ms ?? null;
  const status: RecoveryStatus = {
    objective_ms: objective,
    last_drill: last
      ? { at: last.at, ok: last.ok, restore_ms: timed, restore_bytes: last.restore_bytes ?? null }
      : null,
    met: objective === null || timed === null ? null : timed <= objective,
  };
  const warnings: string[] = [];
  const missed = timed === null ? undefined : objectiveMissed(p, source, timed);
  if (missed) warnings.push(missed);
  const maxAge = p.config.verify?.drill_max_age;
  const maxMs = maxAge ? parseDuration(maxAge) : undefined;
  if (maxMs !== undefined && drilled(p).has(source)) {
    if (!last) warnings.push(`${source} has never been drilled (verify.drill_max_age is ${maxAge})`);
    else if (nowMs - Date.parse(last.at) > maxMs)
      warnings.push(
        `${source}'s last drill is ${span(nowMs - Date.parse(last.at))} old (verify.drill_max_age is ${maxAge})`,
      );
  }
  return { status, warnings };
}
