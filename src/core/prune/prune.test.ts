import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { randomPolynomial } from '../chunker/polynomial.js';
import type { Backend } from '../storage/backend.js';
import { createMemoryBackend, memoryFiles } from '../storage/memory.js';
import { createFaultyBackend } from '../storage/faulty.js';
import { initRepository, openRepository } from '../repository/open.js';
import { listSnapshots, removeSnapshot } from '../repository/snapshots.js';
import { backupStream } from '../backup/backup.js';
import { checkRepository } from '../check/check.js';
import { fileContent, findNode } from '../restore/walk.js';
import { fixedClock } from '../clock.js';
import { type PackUsage, choosePacks, executePrune, planPrune } from './prune.js';

const who = { username: 'u', hostname: 'h', now: '2026-01-01T00:00:00Z' };
const info = { hostname: 'h', username: 'u', uid: 0, gid: 0, programVersion: 'test' };
const OPTS = { packSize: 4 << 20, workers: 0 };
async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

function clone(b: Backend): Backend {
  const c = createMemoryBackend();
  for (const [k, v] of memoryFiles(b)) memoryFiles(c).set(k, Buffer.from(v));
  return c;
}

/**
 * Five stream snapshots sharing a 3 MiB prefix, each with its own tail; the 1st and 4th are then
 * forgotten. The 1st's pack holds the shared prefix (still used) and its tail (unused): a repack.
 */
/** Repeatable pseudo-random bytes (AES-CTR keystream of a seed). */
function seeded(seed: string): (n: number) => Buffer {
  const c = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  return (n) => c.update(Buffer.alloc(n));
}

async function fixture(): Promise<{ backend: Backend; kept: Map<string, Buffer> }> {
  // fixed data and a fixed chunker polynomial: the chunk and pack boundaries this test relies on
  // (a pack holding the shared prefix and a forgotten tail) are the same in every run
  const randomBytes = seeded('prune fixture');
  const backend = createMemoryBackend();
  const repo = await initRepository(backend, 'pw', who, {
    kdf: { N: 1024, r: 1, p: 1 },
    chunkerPolynomial: randomPolynomial(seeded('polynomial')),
    ...OPTS,
  });
  const base = randomBytes(3 << 20);
  const contents = new Map<string, Buffer>();
  for (let i = 0; i < 5; i++) {
    const data = Buffer.concat([base, randomBytes(700_000 + i * 1000)]);
    contents.set(`s${i}`, data);
    await backupStream(
      repo,
      { stream: once(data), filename: `s${i}` },
      { clock: fixedClock(Date.UTC(2026, 0, 1 + i)), info },
    );
  }
  const list = (await listSnapshots(repo)).snapshots;
  for (const i of [0, 3]) {
    await removeSnapshot(repo, list[i].id);
    contents.delete(`s${i}`);
  }
  await repo.close();
  return { backend, kept: contents };
}

async function assertIntact(backend: Backend, kept: Map<string, Buffer>, why: string): Promise<void> {
  const repo = await openRepository(backend, 'pw', OPTS);
  const chk = await checkRepository(repo, { readData: true });
  assert.deepEqual(chk.errors, [], `${why}: check`);
  const snaps = (await listSnapshots(repo)).snapshots;
  assert.equal(snaps.length, kept.size, `${why}: snapshots`);
  for (const s of snaps) {
    const name = s.snapshot.paths![0].slice(1);
    const node = await findNode(repo, s.snapshot.tree, `/${name}`);
    const parts: Buffer[] = [];
    for await (const c of fileContent(repo, node!)) parts.push(c);
    assert.ok(Buffer.concat(parts).equals(kept.get(name)!), `${why}: ${name} restores byte for byte`);
  }
  await repo.close();
}

async function prune(backend: Backend, maxUnused = 0.05) {
  const repo = await openRepository(backend, 'pw', OPTS);
  await repo.loadIndex();
  try {
    return await executePrune(repo, await planPrune(repo, { maxUnused }), { maxUnused });
  } finally {
    await repo.close();
  }
}

const size = (b: Backend) =>
  [...memoryFiles(b)].filter(([k]) => k.startsWith('data/')).reduce((s, [, v]) => s + v.length, 0);

describe('prune', () => {
  it('deletes unused packs, repacks partly used ones, frees what it planned, and keeps every kept snapshot whole', async () => {
    const { backend, kept } = await fixture();
    const before = size(backend);
    const repo = await openRepository(backend, 'pw', OPTS);
    await repo.loadIndex();
    const plan = await planPrune(repo);
    await repo.close();
    assert.ok(plan.remove.length > 0, 'some packs hold only forgotten data');
    assert.ok(plan.repack.length > 0, 'some packs are partly used');
    const sum = await prune(backend);
    const after = size(backend);
    assert.equal(before - after, sum.freedActual);
    assert.ok(
      Math.abs(sum.freedActual - plan.bytes.freed) <= OPTS.packSize,
      `freed ${sum.freedActual}, planned ${plan.bytes.freed}`,
    );
    await assertIntact(backend, kept, 'after prune');
    const again = await prune(backend);
    assert.deepEqual(
      [again.remove.length, again.repack.length, again.unindexed.length],
      [0, 0, 0],
      'a second prune finds nothing',
    );
  });

  it('a crash at any write or delete leaves a repository that checks clean and restores; the next prune finishes the job', async () => {
    const { backend, kept } = await fixture();
    const counter = createFaultyBackend(clone(backend), Infinity);
    await prune(counter);
    const total = counter.mutations;
    assert.ok(total > 5, `prune made ${total} writes and deletes`);
    for (let k = 0; k < total; k++) {
      const copy = clone(backend);
      await assert.rejects(prune(createFaultyBackend(copy, k)), /injected fault/, `crash at ${k}`);
      await assertIntact(copy, kept, `crash after ${k} of ${total}`);
      await prune(copy);
      await assertIntact(copy, kept, `prune after the crash at ${k}`);
      const chk = await checkRepository(await openRepository(copy, 'pw', OPTS));
      assert.deepEqual(
        chk.hints.filter((h) => /not referenced/.test(h)),
        [],
        'no leftover packs',
      );
    }
  });

  it('refuses when an indexed pack is missing, deleting nothing', async () => {
    const { backend } = await fixture();
    const files = memoryFiles(backend);
    const pack = [...files.keys()].find((k) => k.startsWith('data/'))!;
    files.delete(pack);
    const count = files.size;
    await assert.rejects(prune(backend), /prune refuses to run: .*; nothing was deleted/);
    assert.equal(files.size, count);
  });
});

describe("choosePacks (restic's rule)", () => {
  const MiB = 1 << 20;
  const pack = (name: string, used: number, unused: number, tree = false): PackUsage => ({
    pack: name,
    usedBlobs: used ? 1 : 0,
    used: used * MiB,
    unused: unused * MiB,
    size: (used + unused) * MiB + 400,
    kind: tree ? 'tree' : 'data',
  });
  // 100 MiB used in all; 20 MiB unused spread over four packs
  const packs = [
    pack('full', 60, 0),
    pack('gone', 0, 4),
    pack('a', 10, 6),
    pack('b', 10, 2),
    pack('c', 12, 4),
    pack('d', 8, 4),
  ];

  it('deletes unused packs and repacks the most unused first until the rest is within the share', () => {
    // 5% of the repository: 100 × 5/95 = 5.26 MiB may stay unused; 16 MiB are, in partly used packs
    const r = choosePacks(packs, 0.05, 16 * MiB);
    assert.deepEqual(r.remove, ['gone']);
    assert.deepEqual(r.repack, ['a', 'd', 'c'], 'a (37.5% unused), d (33%), c (25%): 2 MiB left in b');
  });
  it('repacks nothing more once the share is met, everything partly used at 0%, and only trees and tiny packs when unlimited', () => {
    assert.deepEqual(choosePacks(packs, 0.2, 16 * MiB).repack, [], '20%: 25 MiB may stay, 16 MiB do');
    assert.deepEqual(choosePacks(packs, 0, 16 * MiB).repack.sort(), ['a', 'b', 'c', 'd']);
    const withTree = [
      ...packs,
      pack('t', 1, 0.1, true),
      { pack: 'tiny', usedBlobs: 3, used: 100_000, unused: 1000, size: 101_200, kind: 'data' as const },
    ];
    assert.deepEqual(
      choosePacks(withTree, 1, 16 * MiB).repack,
      ['t', 'tiny'],
      'trees and packs under 1/25 of a full one go first, whatever the limit',
    );
  });
  it('merges tiny fully used packs once there are ten of them', () => {
    const tiny = (i: number): PackUsage => ({
      pack: `t${i}`,
      usedBlobs: 9,
      used: 100_000,
      unused: 0,
      size: 100_500,
      kind: 'data',
    });
    const nine = Array.from({ length: 9 }, (_, i) => tiny(i));
    assert.deepEqual(choosePacks([...packs, ...nine], 0.2, 16 * MiB).repack, [], 'nine are left alone');
    assert.deepEqual(
      choosePacks([...packs, ...nine, tiny(9)], 0.2, 16 * MiB).repack.sort(),
      [...nine, tiny(9)].map((p) => p.pack).sort(),
    );
  });
  it('takes an absolute limit in bytes, and stops only below it (restic compares with <)', () => {
    assert.deepEqual(
      choosePacks(packs, { bytes: 10 * MiB + 1 }, 16 * MiB).repack,
      ['a'],
      '16 - 6 = 10 MiB left: below 10 MiB + 1',
    );
    assert.deepEqual(
      choosePacks(packs, { bytes: 10 * MiB }, 16 * MiB).repack,
      ['a', 'd'],
      '10 MiB left is not below 10 MiB',
    );
  });
  it('always repacks a pack that mixes data and tree blobs', () => {
    const mixed: PackUsage = { pack: 'm', usedBlobs: 4, used: 5 * MiB, unused: 0, size: 5 * MiB + 300, kind: 'mixed' };
    assert.deepEqual(choosePacks([...packs, mixed], 1, 16 * MiB).repack, ['m']);
  });
});
