/**
 * A PostgreSQL session that holds one snapshot open while a dump reads it: psql starts a
 * REPEATABLE READ, READ ONLY transaction and exports its snapshot (`pg_export_snapshot()`), and
 * `pg_dump --snapshot=ID` reads exactly what this session's queries read. So the row counts and
 * migration state a backup records are those of the dump, yet come from the database, not from the
 * dump's text: a dump that leaves a table's rows out cannot vouch for itself, even while the
 * application writes. Queries go to psql's stdin one at a time; each answer ends at a random
 * marker line that psql's \echo prints. `close()` commits (nothing was written) and ends psql.
 */
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { HoardError } from '../../core/index.js';
import { observed, runTool } from '../process.js';
import type { Connection } from '../types.js';
import { PSQL_ROWS, connectionError, pgQueryEnv, psqlRows } from './connection.js';

/** A line-fed input for psql: queued texts, ended by end(). */
function feeder() {
  const queue: Buffer[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const input = (async function* () {
    for (;;) {
      while (queue.length) yield queue.shift()!;
      if (ended) return;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
  })();
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    input,
    send(text: string) {
      queue.push(Buffer.from(text, 'utf8'));
      poke();
    },
    end() {
      ended = true;
      poke();
    },
  };
}

/** A session holding an exported snapshot. */
export interface SnapshotSession {
  /** The exported snapshot's id, for `pg_dump --snapshot`. */
  id: string;
  /** One query inside the snapshot's transaction; rows as text (NULL as null). */
  query(sql: string): Promise<(string | null)[][]>;
  /** Ends the transaction and psql (idempotent; never rejects). */
  close(): Promise<void>;
}

/** Opens the session and exports its snapshot; kind "db-connection" (exit 3) when the server refuses. */
export async function openSnapshot(psql: string, c: Connection, signal?: AbortSignal): Promise<SnapshotSession> {
  const marker = `hoard-end-${randomBytes(8).toString('hex')}`;
  const feed = feeder();
  const run = runTool([psql, ...PSQL_ROWS, '-f', '-'], { env: pgQueryEnv(c), stdin: feed.input, signal });
  const failed = observed(
    run.done.then(
      () => {
        throw new HoardError('command-failed', 'psql ended the snapshot session early');
      },
      (e) => {
        throw connectionError(e, c);
      },
    ),
  );
  const out = run.stdout[Symbol.asyncIterator]();
  const text = new StringDecoder('utf8'); // a character may straddle two chunks
  let pending = '';
  const answer = async (): Promise<string> => {
    const end = `${marker}\n`;
    for (;;) {
      const at = pending.startsWith(end) ? 0 : pending.indexOf(`\n${end}`);
      if (at >= 0) {
        const cut = at === 0 ? 0 : at + 1;
        const text = pending.slice(0, cut);
        pending = pending.slice(cut + end.length);
        return text;
      }
      const next = await out.next();
      if (next.done) return failed.then(() => '');
      pending += text.write(next.value as Buffer);
    }
  };
  let chain: Promise<unknown> = Promise.resolve();
  const query = (sql: string): Promise<(string | null)[][]> => {
    const mine = chain.then(async () => {
      feed.send(`${sql.replace(/;?\s*$/, '')};\n\\echo ${marker}\n`);
      return psqlRows(await answer());
    });
    chain = mine.catch(() => {});
    return mine;
  };
  let id: string;
  try {
    await query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    id = (await query('SELECT pg_export_snapshot()'))[0]?.[0] ?? '';
    if (!/^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i.test(id))
      throw new HoardError('command-failed', `PostgreSQL exported an unexpected snapshot id ${JSON.stringify(id)}`);
  } catch (e) {
    feed.end();
    await run.done.catch(() => {});
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    id,
    query,
    close() {
      closing ??= (async () => {
        await query('COMMIT').catch(() => {});
        feed.end();
        await run.done.catch(() => {});
      })();
      return closing;
    },
  };
}
