/**
 * All-or-nothing PostgreSQL restores without a server setting. A dump loaded in one transaction
 * takes a lock per table, index and sequence, and on a default server (max_locks_per_transaction
 * 64) a few thousand tables overflow the lock table. So a restore loads into a fresh staging
 * database (`hoard_staging_<hex>`, made like the target: owner, encoding, locale, tablespace,
 * connection limit, privileges and settings), statement by statement, and only a load that ran to
 * the end is switched in: the target's new connections are refused, its sessions ended, the two
 * renamed in one transaction, the old database dropped (its contents are in the pre-restore
 * snapshot). A failed load drops the staging database: the target is never touched. A staging
 * database a killed restore left behind carries the prefix and holds nothing anyone uses.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HoardError } from '../../core/index.js';
import type { Connection } from '../types.js';
import { MAINTENANCE_DB, pgIdent, pgLiteral, pgQuery } from './connection.js';

export const STAGING_PREFIX = 'hoard_staging_';

/** A fresh staging database name (prefix and 12 hex digits, well under PostgreSQL's 63 bytes). */
export function stagingName(): string {
  return `${STAGING_PREFIX}${randomBytes(6).toString('hex')}`;
}

/** True when the connected role may create databases (staging needs it; else restores run in place). */
export async function canStage(psql: string, c: Connection): Promise<boolean> {
  const [r] = await pgQuery(
    psql,
    c,
    'SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user',
    MAINTENANCE_DB,
  );
  return r?.[0] === 't';
}

/** The `SET client_encoding = 'X';` pg_dump writes near a dump's top, or null. */
export function dumpEncoding(head: string): string | null {
  return /^SET client_encoding = '([A-Za-z0-9_]+)';$/m.exec(head)?.[1] ?? null;
}

/**
 * Creates `name` like the existing database `like`, or, when there is none, in `encoding` (the
 * dump's) with the server's default locale, or locale C when that locale cannot hold the encoding.
 */
export async function createStaging(
  psql: string,
  c: Connection,
  name: string,
  like: string | null,
  encoding: string | null,
): Promise<void> {
  const q = (sql: string) => pgQuery(psql, c, sql, MAINTENANCE_DB);
  if (like) {
    const [d] = await q(`SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype,
      datlocprovider, daticulocale, (SELECT spcname FROM pg_tablespace WHERE oid = dattablespace), datconnlimit
      FROM pg_database WHERE datname = ${pgLiteral(like)}`);
    if (d) {
      const icu = d[4] === 'i' ? ` LOCALE_PROVIDER icu ICU_LOCALE ${pgLiteral(d[5] ?? '')}` : '';
      await q(
        `CREATE DATABASE ${pgIdent(name)} TEMPLATE template0 OWNER ${pgIdent(d[0]!)} ENCODING ${pgLiteral(d[1]!)}` +
          ` LC_COLLATE ${pgLiteral(d[2]!)} LC_CTYPE ${pgLiteral(d[3]!)}${icu} TABLESPACE ${pgIdent(d[6]!)} CONNECTION LIMIT ${Number(d[7])}`,
      );
      await copyAccess(q, like, name);
      return;
    }
  }
  const create = `CREATE DATABASE ${pgIdent(name)} TEMPLATE template0`;
  if (!encoding) return void (await q(create));
  try {
    await q(`${create} ENCODING ${pgLiteral(encoding)}`);
  } catch (e) {
    if (!/does not match locale|incompatible/i.test((e as Error).message)) throw e;
    await q(`${create} ENCODING ${pgLiteral(encoding)} LOCALE 'C'`);
  }
}

/** The database's privileges and per-database settings, given to `to` as `from` has them. */
async function copyAccess(q: (sql: string) => Promise<(string | null)[][]>, from: string, to: string): Promise<void> {
  const [acl] = await q(`SELECT datacl IS NULL FROM pg_database WHERE datname = ${pgLiteral(from)}`);
  const steps: string[] = [];
  if (acl?.[0] === 'f') {
    steps.push(`REVOKE ALL ON DATABASE ${pgIdent(to)} FROM PUBLIC`);
    const grants =
      await q(`SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
      a.privilege_type, a.is_grantable FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = ${pgLiteral(from)}`);
    for (const [who, what, grantable] of grants)
      steps.push(`GRANT ${what} ON DATABASE ${pgIdent(to)} TO ${who}${grantable === 't' ? ' WITH GRANT OPTION' : ''}`);
  }
  const settings =
    await q(`SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END, unnest(s.setconfig)
    FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = ${pgLiteral(from)}`);
  for (const [role, setting] of settings) {
    const eq = setting!.indexOf('=');
    const name = setting!.slice(0, eq);
    const value = setting!.slice(eq + 1);
    const on = role === null ? `DATABASE ${pgIdent(to)}` : `ROLE ${pgIdent(role)} IN DATABASE ${pgIdent(to)}`;
    steps.push(`ALTER ${on} SET ${pgIdent(name)} = ${settingValue(name, value)}`);
  }
  for (const step of steps) await q(step);
}

/** Settings stored as lists (`"$user", public`) are given back element by element; others as one literal. */
const LISTS = new Set(['search_path', 'temp_tablespaces', 'local_preload_libraries', 'session_preload_libraries']);
function settingValue(name: string, value: string): string {
  if (!LISTS.has(name)) return pgLiteral(value);
  return value
    .split(/,\s*/)
    .map((v) => pgLiteral(v.replace(/^"(.*)"$/, '$1').replace(/""/g, '"')))
    .join(', ');
}

/** Drops a database (its sessions ended), ignoring one already gone: staging databases and drill scratch ones. */
export async function dropDatabase(psql: string, c: Connection, name: string): Promise<void> {
  await pgQuery(psql, c, `DROP DATABASE IF EXISTS ${pgIdent(name)} WITH (FORCE)`, MAINTENANCE_DB);
}

/**
 * Puts the loaded `staging` in the place of `target`: when the target exists, its new connections
 * are refused and its sessions ended (they would block the rename), then both are renamed in one
 * transaction and the old one dropped. On a failure before the rename the target is as it was.
 */
export async function switchIn(psql: string, c: Connection, staging: string, target: string): Promise<void> {
  const q = (sql: string) => pgQuery(psql, c, sql, MAINTENANCE_DB);
  const [exists] = await q(`SELECT 1 FROM pg_database WHERE datname = ${pgLiteral(target)}`);
  if (!exists) return void (await q(`ALTER DATABASE ${pgIdent(staging)} RENAME TO ${pgIdent(target)}`));
  const old = stagingName();
  await q(`ALTER DATABASE ${pgIdent(target)} WITH ALLOW_CONNECTIONS false`);
  try {
    for (let i = 0; ; i++) {
      const [left] = await q(
        `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${pgLiteral(target)} AND pid <> pg_backend_pid()`,
      );
      if (Number(left?.[0] ?? 0) === 0) break;
      if (i >= 50)
        throw new HoardError('command-failed', `sessions on ${target} could not be ended; nothing was switched`, {
          hint: 'stop the applications using it, then run the restore again',
        });
      await sleep(100);
    }
    await q(
      `BEGIN; ALTER DATABASE ${pgIdent(target)} RENAME TO ${pgIdent(old)}; ALTER DATABASE ${pgIdent(staging)} RENAME TO ${pgIdent(target)}; COMMIT`,
    );
  } catch (e) {
    await q(`ALTER DATABASE ${pgIdent(target)} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
    throw e;
  }
  await dropDatabase(psql, c, old);
}
