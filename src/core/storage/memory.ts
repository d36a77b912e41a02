/** An in-memory Backend for unit tests, with the full contract of ./backend.ts. */
import { HoardError } from '../errors.js';
import { type Backend, type FileInfo, type Handle, type LoadOptions, layoutDir, layoutPath } from './backend.js';

const files = new WeakMap<Backend, Map<string, Buffer>>();

/** A fresh, empty in-memory backend. */
export function createMemoryBackend(opts: { location?: string } = {}): Backend {
  const m = new Map<string, Buffer>();
  const location = opts.location ?? 'memory:';
  const get = (h: Handle): Buffer => {
    const b = m.get(layoutPath(h));
    if (!b) throw new HoardError('not-found', `${layoutPath(h)} does not exist in ${location}`);
    return b;
  };
  const b: Backend = {
    location,
    async create() {
      if (m.has('config')) throw new HoardError('io', `a repository already exists at ${location}`);
    },
    async exists() {
      return m.has('config');
    },
    async save(h, data) {
      const p = layoutPath(h);
      const old = m.get(p);
      if (old) {
        if (old.equals(data)) return;
        throw new HoardError('io', `${p} already exists with different content`);
      }
      m.set(p, Buffer.from(data));
    },
    async load(h, o: LoadOptions = {}) {
      const buf = get(h);
      const off = o.offset ?? 0;
      const len = o.length ?? buf.length - off;
      if (off < 0 || len < 0 || off + len > buf.length)
        throw new HoardError(
          'corrupt',
          `${layoutPath(h)} is shorter than expected (${buf.length} bytes, wanted ${off}+${len})`,
        );
      return Buffer.from(buf.subarray(off, off + len));
    },
    async stat(h): Promise<FileInfo> {
      return { name: h.name, size: get(h).length };
    },
    async remove(h) {
      m.delete(layoutPath(h));
    },
    async *list(type) {
      const dir = `${layoutDir(type)}/`;
      for (const [p, buf] of [...m]) {
        if (!p.startsWith(dir)) continue;
        const name = p.slice(p.lastIndexOf('/') + 1);
        if (/^[0-9a-f]{64}$/.test(name)) yield { name, size: buf.length };
      }
    },
    async close() {},
  };
  files.set(b, m);
  return b;
}

/** The raw stored files of a memory backend (key = layout path), for corruption tests. */
export function memoryFiles(b: Backend): Map<string, Buffer> {
  const m = files.get(b);
  if (!m) throw new Error('not a memory backend');
  return m;
}
