/** Building awkward source trees and comparing restored trees with their originals (bytes, modes, mtimes, links). */
import * as fsp from 'node:fs/promises';
import assert from 'node:assert/strict';
import { textLike } from './data.js';

const B = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s) : Buffer.from(s));
const join = (a: Buffer, b: Buffer) => Buffer.concat([a, B('/'), b]);

/** Awkward names restic must read back exactly. */
export const AWKWARD_NAMES: Buffer[] = [
  B('with space'),
  B('quote"s'),
  B('back\\slash'),
  B('new\nline'),
  B('tab\tname'),
  B('ümlaut <&>'),
  B([0x66, 0xff, 0x6f]),
  B('emoji 😀'),
];

/** Creates a tree under `root` with modes, times, links, empty folder and file, a multi-chunk file and awkward names. */
export async function makeSourceTree(root: string): Promise<void> {
  const r = B(root);
  await fsp.mkdir(root, { recursive: true });
  await fsp.mkdir(`${root}/dir/sub`, { recursive: true });
  await fsp.mkdir(`${root}/empty-dir`);
  await fsp.writeFile(`${root}/empty-file`, '');
  await fsp.writeFile(`${root}/dir/big.sql`, textLike(3 * 1024 * 1024 + 123, 3));
  await fsp.writeFile(`${root}/dir/sub/private.txt`, 'secret-ish\n', { mode: 0o600 });
  await fsp.writeFile(`${root}/run.sh`, '#!/bin/sh\necho hi\n', { mode: 0o755 });
  await fsp.chmod(`${root}/run.sh`, 0o755);
  await fsp.chmod(`${root}/dir/sub/private.txt`, 0o600);
  await fsp.symlink('dir/big.sql', `${root}/link-to-big`);
  await fsp.symlink('/does/not/exist', `${root}/dangling`);
  for (const [i, n] of AWKWARD_NAMES.entries()) await fsp.writeFile(join(r, n), `file ${i}\n`);
  const t = new Date('2024-02-29T12:34:56.789Z');
  await fsp.utimes(`${root}/dir/big.sql`, t, t);
  await fsp.utimes(`${root}/empty-dir`, t, t);
  await fsp.lutimes(`${root}/link-to-big`, t, t);
}

interface Entry {
  type: string;
  mode: number;
  mtimeMs: number;
  size: number;
  content?: Buffer;
  link?: Buffer;
}

async function scan(root: Buffer, rel: Buffer = B(''), out = new Map<string, Entry>()): Promise<Map<string, Entry>> {
  for (const name of await fsp.readdir(rel.length ? join(root, rel) : root, { encoding: 'buffer' })) {
    const r = rel.length ? join(rel, name) : name;
    const p = join(root, r);
    const st = await fsp.lstat(p);
    const e: Entry = {
      type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file',
      mode: st.mode & 0o7777,
      mtimeMs: Math.floor(st.mtimeMs),
      size: st.isFile() ? st.size : 0,
    };
    if (st.isFile()) e.content = await fsp.readFile(p);
    if (st.isSymbolicLink()) e.link = await fsp.readlink(p, { encoding: 'buffer' });
    out.set(r.toString('hex'), e);
    if (st.isDirectory()) await scan(root, r, out);
  }
  return out;
}

/** Asserts that `restored` holds the same entries as `original`: type, bytes, permission bits, mtime (ms) and link targets. */
export async function assertSameTree(
  original: string,
  restored: string,
  opts: { dirTimes?: boolean } = {},
): Promise<void> {
  const a = await scan(B(original)),
    b = await scan(B(restored));
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), 'same set of paths');
  for (const [k, ea] of a) {
    const eb = b.get(k)!;
    const name = Buffer.from(k, 'hex').toString();
    assert.equal(eb.type, ea.type, `${name}: type`);
    if (ea.type === 'file') {
      assert.ok(eb.content!.equals(ea.content!), `${name}: content`);
      assert.equal(eb.mode, ea.mode, `${name}: mode`);
    }
    if (ea.type === 'symlink') assert.ok(eb.link!.equals(ea.link!), `${name}: link target`);
    if (ea.type !== 'dir' || opts.dirTimes !== false) assert.equal(eb.mtimeMs, ea.mtimeMs, `${name}: mtime`);
  }
}
