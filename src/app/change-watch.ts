/**
 * On-change detection for database server sources: the engine's change token (PostgreSQL row
 * counters, MySQL update times) polled every `pollMs`; a change calls `changed`. Polls never
 * overlap; a failed poll (server down) is retried at the next tick, and does not count as a change.
 */
import { engineFor } from '../databases/index.js';
import type { Project } from './project.js';
import { sourceConnection } from './source-restore.js';

/** A watcher for a postgres or mysql source, or undefined when its engine has no change token. */
export function databaseWatcher(
  p: Project,
  source: string,
  pollMs: number,
  log: (l: string) => void,
): ((changed: () => void) => () => void) | undefined {
  const cfg = p.config.sources?.[source];
  if (!cfg || (cfg.type !== 'postgres' && cfg.type !== 'mysql')) return undefined;
  return (changed) => {
    let last: string | undefined;
    let busy = false;
    let stopped = false;
    const tick = async () => {
      if (busy || stopped) return;
      busy = true;
      try {
        const c = await sourceConnection(p, source);
        const token = await engineFor(c).changeToken!(c);
        if (last !== undefined && token !== last) changed();
        last = token;
      } catch (e) {
        log(`${source}: change detection failed this time: ${(e as Error).message.split('\n')[0]}`);
      } finally {
        busy = false;
      }
    };
    void tick();
    const timer = setInterval(() => void tick(), pollMs);
    timer.unref();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  };
}
