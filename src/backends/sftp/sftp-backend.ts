/**
 * The sftp: backend (ssh2) — restic's layout in a folder on an SSH server. One connection, opened
 * on first use, checked against known_hosts (or a configured fingerprint), reopened after a drop.
 * Writes go to "<name>-tmp-<random>", are fsynced (fsync@openssh.com where offered), then renamed;
 * SFTP's rename refuses an existing name, so a final name only ever holds a complete file.
 */
import { randomBytes } from 'node:crypto';
import { type Socket, connect as connectSocket } from 'node:net';
import { Client, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import {
  type Backend,
  type FileInfo,
  type Handle,
  HoardError,
  layoutDir,
  layoutPath,
  type LoadOptions,
  NAME_RE,
} from '../../core/index.js';
import { type SftpLocation, type SftpSettings, sftpWhere } from './sftp-config.js';
import { checkHostKey } from './known-hosts.js';
import { sftpError } from './sftp-errors.js';

const HEX = '0123456789abcdef';
const DIRS = [
  'keys',
  'locks',
  'snapshots',
  'index',
  'data',
  'hoard',
  'hoard/verifications',
  ...[...HEX].flatMap((a) => [...HEX].map((b) => `data/${a}${b}`)),
];

type Cb<T> = (err: Error | undefined | null, v?: T) => void;

/** A request unanswered this long means a dead connection (ssh2 has no request timeout of its own). */
const REQUEST_TIMEOUT_MS = 30_000;

export function createSftpBackend(
  loc: SftpLocation,
  s: SftpSettings & { knownHostsFile: string; defaultUser: string },
): Backend {
  const user = loc.user ?? s.user ?? s.defaultUser;
  const port = s.port ?? loc.port;
  const where = sftpWhere(loc, s);
  const root = loc.path.replace(/\/+$/, '') || '/';
  const full = (h: Handle) => `${root}/${layoutPath(h)}`;
  let session: Promise<{ conn: Client; sftp: SFTPWrapper }> | undefined;
  // Requests in flight: when the connection dies they fail (retryably) instead of waiting forever,
  // and their timers go with them (a timer left behind kept a finished command alive, and ended the
  // next connection when it fired).
  const pending = new Map<(e: Error) => void, NodeJS.Timeout>();
  const dead = new WeakSet<SFTPWrapper>();
  let current: SFTPWrapper | undefined;
  let currentConn: Client | undefined;
  const lostError = () => Object.assign(new Error('Connection lost'), { level: 'client-socket' });
  const call = <T>(c: SFTPWrapper, fn: (cb: Cb<T>) => void) =>
    new Promise<T>((resolve, reject) => {
      if (dead.has(c)) {
        reject(lostError());
        return;
      } // ssh2 never answers on a closed channel
      // a server that stops answering without closing the connection: give up on it, and reconnect
      const timer = setTimeout(() => {
        if (c !== current) {
          pending.delete(reject);
          reject(lostError());
          return;
        }
        currentConn?.end();
        lost();
      }, REQUEST_TIMEOUT_MS);
      pending.set(reject, timer);
      fn((err, v) => {
        clearTimeout(timer);
        pending.delete(reject);
        if (err) reject(err);
        else resolve(v as T);
      });
    });
  const lost = () => {
    session = undefined;
    if (current) dead.add(current);
    for (const [r, timer] of pending) {
      clearTimeout(timer);
      r(lostError());
    }
    pending.clear();
  };
  // The socket keeps the process alive only while operations are in flight, so a caller that never
  // closes the backend (a CLI command, a library user) still exits when its work is done.
  let sock: Socket | undefined;
  let active = 0;
  const busy = async <T>(work: () => Promise<T>): Promise<T> => {
    if (active++ === 0) sock?.ref();
    try {
      return await work();
    } finally {
      if (--active === 0) sock?.unref();
    }
  };
  const fail = (e: unknown, op: string, what: string) => {
    const err = sftpError(e, op, what, where);
    if (err.retryable) session = undefined; // a dropped connection: the next attempt reconnects
    return err;
  };

  function connect(): Promise<{ conn: Client; sftp: SFTPWrapper }> {
    return new Promise((resolve, reject) => {
      const conn = new Client();
      let hostProblem: HoardError | undefined;
      const own = connectSocket({ host: loc.host, port });
      if (active === 0) own.unref();
      sock = own;
      own.once('error', (e) => reject(e));
      const cfg: ConnectConfig = {
        sock: own,
        host: loc.host,
        port,
        username: user,
        readyTimeout: 20_000,
        privateKey: s.privateKey,
        passphrase: s.passphrase,
        password: s.password,
        agent: s.agent,
        hostVerifier: (key: Buffer) => {
          try {
            checkHostKey(key, loc.host, port, { knownHosts: s.knownHosts, hostKey: s.hostKey, file: s.knownHostsFile });
            return true;
          } catch (e) {
            hostProblem = e as HoardError;
            return false;
          }
        },
      };
      conn.once('ready', () =>
        conn.sftp((err, sftp) => {
          if (err) reject(err);
          else {
            current = sftp;
            currentConn = conn;
            resolve({ conn, sftp });
          }
        }),
      );
      conn.once('error', (e) => reject(hostProblem ?? e));
      // a connection that closes before the SFTP session is up fails the connect (else it would wait forever)
      const closed = () => {
        if (conn === currentConn) lost(); // a late close of an earlier connection leaves the new one be
        reject(hostProblem ?? lostError());
      };
      conn.once('close', closed);
      own.once('close', closed);
      conn.connect(cfg);
    });
  }

  async function sftp(): Promise<SFTPWrapper> {
    session ??= connect();
    try {
      return (await session).sftp;
    } catch (e) {
      session = undefined;
      throw sftpError(e, 'connect to', loc.host, where);
    }
  }

  async function size(p: string): Promise<number | undefined> {
    const c = await sftp();
    try {
      return (await call<{ size: number }>(c, (cb) => c.stat(p, cb))).size;
    } catch (e) {
      const err = fail(e, 'stat', p);
      if (err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  async function readAll(p: string, off: number, len: number | undefined): Promise<Buffer> {
    const c = await sftp();
    let fh: Buffer;
    try {
      fh = await call<Buffer>(c, (cb) => c.open(p, 'r', cb));
    } catch (e) {
      throw fail(e, 'read', p);
    }
    try {
      const total = (await call<{ size: number }>(c, (cb) => c.fstat(fh, cb))).size;
      const want = len ?? total - off;
      if (off < 0 || want < 0 || off + want > total)
        throw new HoardError('corrupt', `${p} is truncated (${total} bytes, expected at least ${off + want})`, {
          hint: 'run `hoard check --read-data`',
        });
      const buf = Buffer.allocUnsafe(want);
      let got = 0;
      while (got < want) {
        const n = await call<number>(c, (cb) =>
          c.read(fh, buf, got, Math.min(want - got, 256 << 10), off + got, cb as never),
        );
        if (!n) throw new HoardError('corrupt', `${p} ended early`);
        got += n;
      }
      return buf;
    } catch (e) {
      throw fail(e, 'read', p);
    } finally {
      await call(c, (cb) => c.close(fh, cb)).catch(() => {});
    }
  }

  async function writeFile(c: SFTPWrapper, p: string, data: Uint8Array): Promise<void> {
    const fh = await call<Buffer>(c, (cb) => c.open(p, 'wx', { mode: 0o600 }, cb));
    try {
      for (let off = 0; off < data.length; ) {
        const n = Math.min(data.length - off, 256 << 10);
        await call(c, (cb) => c.write(fh, Buffer.from(data.buffer, data.byteOffset + off, n), 0, n, off, cb));
        off += n;
      }
      await call(c, (cb) => c.ext_openssh_fsync(fh, cb)).catch(() => {
        /* a server without fsync@openssh.com */
      });
    } finally {
      await call(c, (cb) => c.close(fh, cb)).catch(() => {});
    }
  }

  async function mkdirs(c: SFTPWrapper, dirs: string[]): Promise<void> {
    for (const d of dirs) {
      try {
        await call(c, (cb) => c.mkdir(d, { mode: 0o700 }, cb));
      } catch {
        const st = await call<{ isDirectory(): boolean }>(c, (cb) => c.stat(d, cb)).catch(() => undefined);
        if (!st?.isDirectory())
          throw new HoardError('io', `cannot create the folder ${d} at ${where}`, {
            hint: 'check that the path exists and is writable by the SSH user',
          });
      }
    }
  }

  return {
    location: where,
    create: () =>
      busy(async () => {
        const c = await sftp();
        const parts = root.split('/').filter(Boolean);
        const parents = parts.map((_, i) => `${root.startsWith('/') ? '/' : ''}${parts.slice(0, i + 1).join('/')}`);
        await mkdirs(c, [...parents, ...DIRS.map((d) => `${root}/${d}`)]);
        if ((await size(full({ type: 'config', name: '' }))) !== undefined)
          throw new HoardError('io', `a repository already exists at ${where}`, {
            hint: 'use it as it is, or choose another location',
          });
      }),
    exists: () => busy(async () => (await size(full({ type: 'config', name: '' }))) !== undefined),
    save: (h, data) =>
      busy(async () => {
        const dest = full(h);
        const same = async () => {
          const n = await size(dest);
          if (n === undefined) return false;
          if (n === data.length && (await readAll(dest, 0, undefined)).equals(data)) return true;
          throw new HoardError('io', `${dest} already exists with other content`, { hint: 'run `hoard check`' });
        };
        if (await same()) return;
        const c = await sftp();
        const tmp = `${dest}-tmp-${randomBytes(8).toString('hex')}`;
        try {
          try {
            await writeFile(c, tmp, data);
          } catch (e) {
            if ((e as { code?: number }).code !== 2) throw e;
            await mkdirs(c, [dest.slice(0, dest.lastIndexOf('/'))]); // a folder restic's layout has but this repository lacks
            await writeFile(c, tmp, data);
          }
          try {
            await call(c, (cb) => c.rename(tmp, dest, cb));
          } catch (e) {
            if (!(await same())) throw e; // the name appeared meanwhile with the same content: done
          }
        } catch (e) {
          await call(c, (cb) => c.unlink(tmp, cb)).catch(() => {});
          throw fail(e, 'write', dest);
        }
      }),
    load: (h, o: LoadOptions = {}) => busy(() => readAll(full(h), o.offset ?? 0, o.length)),
    stat: (h) =>
      busy(async (): Promise<FileInfo> => {
        const n = await size(full(h));
        if (n === undefined) throw new HoardError('not-found', `${full(h)} does not exist`);
        return { name: h.name, size: n };
      }),
    remove: (h) =>
      busy(async () => {
        const c = await sftp();
        try {
          await call(c, (cb) => c.unlink(full(h), cb));
        } catch (e) {
          const err = fail(e, 'remove', full(h));
          if (err.kind !== 'not-found') throw err;
        }
      }),
    async *list(type) {
      const c = await busy(sftp);
      const readdir = (d: string) =>
        busy(async () => {
          try {
            return await call<{ filename: string; attrs: { size: number; isDirectory(): boolean } }[]>(c, (cb) =>
              c.readdir(d, cb as never),
            );
          } catch (e) {
            const err = fail(e, 'list', d);
            if (err.kind === 'not-found') return [];
            throw err;
          }
        });
      const dir = `${root}/${layoutDir(type)}`;
      const dirs =
        type === 'data'
          ? (await readdir(dir)).filter((e) => /^[0-9a-f]{2}$/.test(e.filename)).map((e) => `${dir}/${e.filename}`)
          : [dir];
      for (const d of dirs)
        for (const e of await readdir(d)) if (NAME_RE.test(e.filename)) yield { name: e.filename, size: e.attrs.size };
    },
    async close() {
      const s0 = session;
      session = undefined;
      if (s0)
        await s0.then(
          ({ conn }) => conn.end(),
          () => {},
        );
    },
  };
}
