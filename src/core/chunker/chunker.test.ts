import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Chunker, chunkBuffer } from './chunker.js';
import { nativeChunker } from './native.js';
import { isIrreducible, polynomialDegree, polynomialFromHex, polynomialToHex, randomPolynomial } from './polynomial.js';

const TEST_POL = 0x3da3358b4dc173n;

describe('polynomials', () => {
  // restic/chunker polynomials_test.go polIrredTests
  const table: [bigint, boolean][] = [
    [0x38f1e565e288dfn, false],
    [0x3da3358b4dc173n, true],
    [0x30a8295b9d5c91n, false],
    [0x255f4350b962cbn, false],
    [0x267f776110a235n, false],
    [0x2f4dae10d41227n, false],
    [0x2482734cacca49n, true],
    [0x312daf4b284899n, false],
    [0x29dfb6553d01d1n, false],
    [0x3548245eb26257n, false],
    [0x3199e7ef4211b3n, false],
    [0x362f39017dae8bn, false],
    [0x200d57aa6fdacbn, false],
    [0x35e0a4efa1d275n, false],
    [0x2ced55b026577fn, false],
    [0x260b012010893dn, false],
    [0x2df29cbcd59e9dn, false],
    [0x3f2ac7488bd429n, false],
    [0x3e5cb1711669fbn, false],
    [0x226d8de57a9959n, false],
    [0x3c8de80aaf5835n, false],
    [0x2026a59efb219bn, false],
    [0x39dfa4d13fb231n, false],
    [0x3143d0464b3299n, false],
  ];
  it("matches restic's irreducibility table (24 cases)", () => {
    for (const [p, want] of table) assert.equal(isIrreducible(p), want, p.toString(16));
  });
  it('random polynomials are irreducible of degree 53 and round-trip as hex', () => {
    for (let i = 0; i < 5; i++) {
      const p = randomPolynomial();
      assert.equal(polynomialDegree(p), 53);
      assert.ok(isIrreducible(p));
      assert.equal(polynomialFromHex(polynomialToHex(p)), p);
    }
    assert.throws(() => polynomialFromHex('xyz'));
  });
});

describe('chunker', () => {
  it('chunks2 vector: 4 x 512 KiB of zeros gives four 512 KiB chunks', () => {
    const data = Buffer.alloc(4 * 512 * 1024);
    const lens = chunkBuffer(TEST_POL, data);
    assert.deepEqual(lens, [524288, 524288, 524288, 524288]);
    const h = createHash('sha256').update(data.subarray(0, 524288)).digest('hex');
    assert.equal(h, '07854d2fef297a06ba81685e660c332de36d5d18d546927d30daad6d7fda1541');
  });

  it('streaming in random pieces gives the same cuts as one feed', () => {
    const data = randomBytes(12 * 1024 * 1024);
    const whole = chunkBuffer(TEST_POL, data);
    const c = new Chunker(TEST_POL);
    const cuts: number[] = [];
    for (let off = 0; off < data.length; ) {
      const n = Math.min(data.length - off, 1 + Math.floor(Math.random() * 3_000_000));
      for (const cut of c.feed(data.subarray(off, off + n))) cuts.push(off + cut);
      off += n;
    }
    const lens = cuts.map((x, i) => x - (i ? cuts[i - 1] : 0));
    if (cuts.at(-1) !== data.length) lens.push(data.length - (cuts.at(-1) ?? 0));
    assert.deepEqual(lens, whole);
    assert.ok(whole.length > 3, 'random data is cut into several chunks');
    for (const l of whole.slice(0, -1)) assert.ok(l >= 512 * 1024 && l <= 8 * 1024 * 1024);
  });

  it('honours maxSize and handles empty input', () => {
    assert.deepEqual(chunkBuffer(TEST_POL, Buffer.alloc(0)), []);
    const lens = chunkBuffer(TEST_POL, Buffer.alloc(20 * 1024 * 1024, 0xaa), { maxSize: 1024 * 1024 });
    assert.ok(lens.every((l) => l <= 1024 * 1024));
    assert.equal(
      lens.reduce((a, b) => a + b, 0),
      20 * 1024 * 1024,
    );
  });

  it('the native loop cuts exactly where the TypeScript reference loop cuts', (t) => {
    if (!nativeChunker()) {
      t.skip('native chunker not built (npm install builds it with node-gyp)');
      return;
    }
    const data = Buffer.concat([
      randomBytes(9 * 1024 * 1024),
      Buffer.alloc(9 * 1024 * 1024, 7),
      randomBytes(3 * 1024 * 1024),
    ]);
    for (const opts of [{}, { minSize: 4096, maxSize: 65536, averageBits: 12 }]) {
      const a = new Chunker(TEST_POL, { ...opts, native: true });
      const b = new Chunker(TEST_POL, { ...opts, native: false });
      const ca: number[] = [],
        cb: number[] = [];
      for (let off = 0; off < data.length; ) {
        const n = Math.min(data.length - off, 1 + Math.floor(Math.random() * 2_000_000));
        for (const c of a.feed(data.subarray(off, off + n))) ca.push(off + c);
        for (const c of b.feed(data.subarray(off, off + n))) cb.push(off + c);
        off += n;
      }
      assert.ok(cb.length > 3);
      assert.deepEqual(ca, cb);
      assert.equal(a.pending, b.pending);
    }
  });

  it('feedAsync (the loop on the thread pool) cuts where feed does, several streams at once, and refuses a second feed meanwhile', async (t) => {
    if (!nativeChunker()?.feedAsync) {
      assert.ok(!process.env.HOARD_TEST_REQUIRE_SERVICES, 'the native chunker must be built (npm install builds it)');
      t.skip('native chunker not built (npm install builds it with node-gyp)');
      return;
    }
    const streams = [
      randomBytes(10 * 1024 * 1024),
      Buffer.concat([Buffer.alloc(5 * 1024 * 1024, 3), randomBytes(4 * 1024 * 1024)]),
    ];
    await Promise.all(
      streams.map(async (data) => {
        const a = new Chunker(TEST_POL),
          b = new Chunker(TEST_POL, { native: false });
        const ca: number[] = [],
          cb: number[] = [];
        for (let off = 0; off < data.length; ) {
          const n = Math.min(data.length - off, 1 + Math.floor(Math.random() * 2_000_000));
          const piece = data.subarray(off, off + n);
          const pending = a.feedAsync(piece);
          if (n >= 64 * 1024) assert.throws(() => a.feed(piece), /another feed is running/);
          for (const c of await pending) ca.push(off + c);
          for (const c of b.feed(piece)) cb.push(off + c);
          off += n;
        }
        assert.ok(cb.length > 0);
        assert.deepEqual(ca, cb);
        assert.equal(a.pending, b.pending);
      }),
    );
  });
});
