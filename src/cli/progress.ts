/** Renders core events on stderr: a live status line on a TTY, only warnings otherwise. */
import { type Clock, type HoardEvent, redact, redactDeep, type Reporter } from '../core/index.js';
import { formatBytes } from './context.js';

/** A reporter writing to stderr. `json` turns warnings into NDJSON lines and drops progress. */
export function createReporter(opts: { tty: boolean; json: boolean; clock: Clock }): Reporter & { done(): void } {
  const start = opts.clock.now();
  let last = 0;
  let live = false;
  const write = (s: string) => process.stderr.write(s);
  const rep = (e: HoardEvent): void => {
    if (e.type.endsWith('.warning') || e.type === 'check.error') {
      if (live) {
        write('\r\x1b[K');
        live = false;
      }
      // a warning may quote a tool's stderr or a URL: redacted like every printed line
      if (opts.json) write(`${JSON.stringify(redactDeep({ message_type: e.type, ...e }))}\n`);
      else if ('path' in e) write(`warning: ${e.path}: ${redact(e.message)}\n`);
      else write(`error: ${redact((e as { message: string }).message)}\n`);
      return;
    }
    if (!opts.tty || opts.json) return;
    const now = opts.clock.now();
    if (now - last < 200) return;
    last = now;
    const secs = Math.max(0.001, (now - start) / 1000);
    let line = '';
    if (e.type === 'backup.progress') {
      const rate = e.bytes / secs;
      const eta = e.totalBytes && rate > 0 ? ` ETA ${Math.round((e.totalBytes - e.bytes) / rate)}s` : '';
      line = `[${secs.toFixed(0)}s] ${e.files} files, ${formatBytes(e.bytes)} read, ${formatBytes(rate)}/s, ${formatBytes(e.bytesAdded)} added${eta}`;
    } else if (e.type === 'restore.progress') {
      line = `[${secs.toFixed(0)}s] ${e.files} files, ${formatBytes(e.bytes)} of ${formatBytes(e.totalBytes)} restored`;
    } else if (e.type === 'check.progress') {
      line = `[${secs.toFixed(0)}s] ${e.phase}: ${e.done}/${e.total} packs`;
    }
    if (line) {
      write(`\r\x1b[K${line}`);
      live = true;
    }
  };
  return Object.assign(rep, {
    done: () => {
      if (live) write('\r\x1b[K');
      live = false;
    },
  });
}
