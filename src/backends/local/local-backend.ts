/**
 * The local: backend — restic's default layout on a file system (restic-format.md §2). Writes go
 * to "<name>-tmp-<random>" (0600), are fsynced, renamed into place, the folder fsynced, then the
 * file made read-only (0400). A failed write removes its temp file, so no partial file is ever
 * visible under a final name.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import {
  type Backend,
  FILE_TYPES,
  type FileInfo,
  type Handle,
  HoardError,
  isHoardError,
  layoutDir,
  layoutPath,
  type LoadOptions,
  NAME_RE,
} from '../../core/index.js';
import { fsError } from './local-errors.js';

const HEX = '0123456789abcdef';

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    /* some file systems refuse directory fsync */
  } finally {
    await fh.close();
  }
}

/** A backend rooted at `dir` (absolute or relative to the current folder). */
export function createLocalBackend(dir: string): Backend {
  const root = path.resolve(dir);
  const full = (h: Handle) => path.join(root, layoutPath(h));
  const handles = new Map<string, CachedHandle>();
  // Under root, what is written into a repository another user owns goes to that user: a root
  // `hoard wal base` into the postgres user's repository otherwise left files its archiver could not read.
  let owner: Promise<{ uid: number; gid: number } | undefined> | undefined;
  const ownerOf = () =>
    (owner ??=
      process.getuid?.() === 0
        ? fsp.stat(root).then(
            (st) => (st.uid !== 0 ? { uid: st.uid, gid: st.gid } : undefined),
            () => undefined,
          )
        : Promise.resolve(undefined));

  async function writeAtomic(h: Handle, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    const dest = full(h);
    const tmp = `${dest}-tmp-${randomBytes(8).toString('hex')}`;
    let fh: fsp.FileHandle | undefined;
    try {
      try {
        fh = await fsp.open(tmp, 'wx', 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || (h.type !== 'data' && h.type !== 'verification')) throw e; // folders made on demand
        const made = await fsp.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
        const o = await ownerOf();
        // every folder mkdir made, from the first one down to the file's
        for (let d = path.dirname(dest); o && made && d.startsWith(made); d = path.dirname(d))
          await fsp.chown(d, o.uid, o.gid);
        fh = await fsp.open(tmp, 'wx', 0o600);
      }
      const o = await ownerOf();
      if (o) await fh.chown(o.uid, o.gid);
      let off = 0;
      while (off < data.length) {
        if (signal?.aborted) throw new HoardError('interrupted', 'interrupted');
        const { bytesWritten } = await fh.write(data, off, Math.min(data.length - off, 8 << 20));
        off += bytesWritten;
      }
      await fh.sync();
      await fh.close();
      fh = undefined;
      if (await sameFileExists(dest, data)) {
        await fsp.rm(tmp, { force: true });
        return;
      }
      await fsp.rename(tmp, dest);
      await fsyncDir(path.dirname(dest));
      await fsp.chmod(dest, 0o400);
    } catch (e) {
      await fh?.close().catch(() => {});
      await fsp.rm(tmp, { force: true }).catch(() => {});
      throw isHoardError(e) ? e : fsError(e, 'write', dest);
    }
  }

  async function sameFileExists(dest: string, data: Uint8Array): Promise<boolean> {
    let existing: Buffer;
    try {
      existing = await fsp.readFile(dest);
    } catch {
      return false;
    }
    if (existing.equals(data)) return true;
    throw new HoardError('io', `${dest} already exists with different content`, { hint: 'run `hoard check`' });
  }

  return {
    location: root,
    async create() {
      let st: Awaited<ReturnType<typeof fsp.stat>> | undefined;
      try {
        st = await fsp.stat(root);
      } catch {
        /* to be created */
      }
      if (st && !st.isDirectory())
        throw new HoardError('io', `${root} is a file, not a folder`, {
          hint: 'choose a folder path for the repository',
        });
      try {
        await fsp.access(path.join(root, 'config'));
        throw new HoardError('io', `a repository already exists at ${root}`);
      } catch (e) {
        if (isHoardError(e)) throw e;
      }
      try {
        await fsp.mkdir(root, { recursive: true, mode: 0o700 });
        for (const t of FILE_TYPES)
          if (t !== 'config' && t !== 'verification')
            await fsp.mkdir(path.join(root, layoutDir(t)), { recursive: true, mode: 0o700 });
        for (const a of HEX)
          for (const b of HEX) await fsp.mkdir(path.join(root, 'data', a + b), { recursive: true, mode: 0o700 });
      } catch (e) {
        throw fsError(e, 'create', root);
      }
    },
    async exists() {
      try {
        const st = await fsp.stat(path.join(root, 'config'));
        return st.isFile();
      } catch {
        return false;
      }
    },
    async save(h, data, o) {
      await writeAtomic(h, data, o?.signal);
    },
    async load(h, o: LoadOptions = {}) {
      const p = full(h);
      if (h.type === 'data' && o.length !== undefined) return readRange(p, o.offset ?? 0, o.length);
      let fh: fsp.FileHandle;
      try {
        fh = await fsp.open(p, 'r');
      } catch (e) {
        const err = fsError(e, 'read', p);
        if (h.type === 'config' && (err.kind === 'not-found' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')) {
          try {
            if ((await fsp.stat(root)).isFile())
              throw new HoardError('repo-missing', `${root} is a file, not a repository`, {
                hint: 'check --repo / HOARD_REPOSITORY',
              });
          } catch (x) {
            if (isHoardError(x, 'repo-missing')) throw x;
          }
          throw new HoardError('not-found', `${p} does not exist`, { cause: e });
        }
        throw err;
      }
      try {
        const size = (await fh.stat()).size;
        const off = o.offset ?? 0;
        const len = o.length ?? size - off;
        if (off < 0 || len < 0 || off + len > size)
          throw new HoardError('corrupt', `${p} is truncated (${size} bytes, expected at least ${off + len})`, {
            hint: 'run `hoard check --read-data`',
          });
        const buf = Buffer.allocUnsafe(len);
        let got = 0;
        while (got < len) {
          const { bytesRead } = await fh.read(buf, got, len - got, off + got);
          if (bytesRead === 0) throw new HoardError('corrupt', `${p} ended early`);
          got += bytesRead;
        }
        return buf;
      } catch (e) {
        throw isHoardError(e) ? e : fsError(e, 'read', p);
      } finally {
        await fh.close();
      }
    },
    async stat(h): Promise<FileInfo> {
      try {
        return { name: h.name, size: (await fsp.stat(full(h))).size };
      } catch (e) {
        throw fsError(e, 'stat', full(h));
      }
    },
    async remove(h) {
      void drop(full(h));
      try {
        await fsp.unlink(full(h));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(e, 'remove', full(h));
      }
    },
    async *list(type) {
      const dir = path.join(root, layoutDir(type));
      const dirs =
        type === 'data'
          ? (await readdirOrEmpty(dir)).filter((d) => /^[0-9a-f]{2}$/.test(d)).map((d) => path.join(dir, d))
          : [dir];
      for (const d of dirs) {
        for (const name of await readdirOrEmpty(d)) {
          if (!NAME_RE.test(name)) continue;
          try {
            yield { name, size: (await fsp.stat(path.join(d, name))).size };
          } catch {
            /* removed meanwhile */
          }
        }
      }
    },
    async close() {
      await closeHandles();
    },
  };

  /**
   * Ranged pack reads reuse open handles (restores and checks read many blobs per pack). A handle
   * dropped from the cache (evicted, removed, or at close) is closed once its in-flight reads end.
   */
  async function readRange(p: string, off: number, len: number): Promise<Buffer> {
    let h = handles.get(p);
    if (!h) {
      h = { fh: fsp.open(p, 'r'), users: 0, dropped: false };
      handles.set(p, h);
      try {
        await h.fh;
      } catch (e) {
        handles.delete(p);
        throw fsError(e, 'read', p);
      }
      if (handles.size > 32) void drop(handles.keys().next().value!);
    }
    h.users++;
    try {
      const file = await h.fh;
      const buf = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await file.read(buf, got, len - got, off + got);
        if (bytesRead === 0)
          throw new HoardError('corrupt', `${p} is truncated (wanted bytes ${off}..${off + len})`, {
            hint: 'run `hoard check --read-data`',
          });
        got += bytesRead;
      }
      return buf;
    } finally {
      h.users--;
      if (h.dropped && h.users === 0) await closeHandle(h);
    }
  }

  function closeHandle(h: CachedHandle): Promise<void> {
    return h.fh.then((x) => x.close()).catch(() => {});
  }

  /** Forgets the cached handle of `p`; closes it now, or when its last read ends. */
  function drop(p: string): Promise<void> {
    const h = handles.get(p);
    if (!h) return Promise.resolve();
    handles.delete(p);
    h.dropped = true;
    return h.users === 0 ? closeHandle(h) : Promise.resolve();
  }

  async function closeHandles(): Promise<void> {
    await Promise.all([...handles.keys()].map(drop));
  }
}

interface CachedHandle {
  fh: Promise<fsp.FileHandle>;
  users: number;
  dropped: boolean;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fsError(e, 'list', dir);
  }
}
