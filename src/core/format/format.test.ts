import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { goQuoteJsonString, goStringify, mayHoldBigInt, parseJson } from './gojson.js';
import { quoteNodeName, unquoteNodeName } from './node-name.js';
import { formatGoTime, parseGoTime } from './time.js';
import { decodeTree, encodeTree, type TreeNode } from './tree.js';
import { decodeIndex, encodeIndex } from './index-file.js';
import { decodePackHeader, encodePackTrailer, headerLocation, packSizeFromBlobs } from './pack.js';
import { checkKdfParams, randomKey } from '../crypto/crypto.js';
import { isHoardError } from '../errors.js';
import { decodeSnapshot } from './snapshot.js';

describe('Go JSON', () => {
  it('escapes like encoding/json (Go 1.19)', () => {
    assert.equal(
      goQuoteJsonString('a"b\\c\n\t\r\b\f<>&\u2028\u2029\u0001é'),
      '"a\\"b\\\\c\\n\\t\\r\\u0008\\u000c\\u003c\\u003e\\u0026\\u2028\\u2029\\u0001é"',
    );
    assert.equal(goQuoteJsonString('\ud800x'), '"\\ufffdx"');
    assert.equal(goQuoteJsonString('😀'), '"😀"');
  });
  it('stringifies bigint, bytes and drops undefined', () => {
    assert.equal(
      goStringify({ a: 18446744073709551615n, b: Buffer.from([1, 2, 3]), c: undefined, d: [1, 'x'] }),
      '{"a":18446744073709551615,"b":"AQID","d":[1,"x"]}',
    );
  });
  it('parses large integers exactly and rejects hostile input', () => {
    const v = parseJson('{"inode":18446744073709551615,"n":12,"f":1.5}') as Record<string, unknown>;
    assert.equal(v.inode, 18446744073709551615n);
    assert.equal(v.n, 12);
    assert.throws(() => parseJson('{"a":1'), SyntaxError);
    assert.throws(() => parseJson('['.repeat(5000) + ']'.repeat(5000)), SyntaxError);
    assert.throws(() => parseJson(`{"x":12345678901234567890,"y":${'['.repeat(5000)}}`), SyntaxError);
  });
  it('takes the slow bigint path only for long integer literals, not for digit runs in strings', () => {
    for (const s of [
      '18446744073709551615',
      '[ 12345678901234567 ]',
      '{"a":1,"inode": -1234567890123456789 }',
      '{"x":[1,12345678901234567890]}',
    ])
      assert.ok(mayHoldBigInt(s), s);
    // hex ids often hold 16+ decimal digits in a row; decimals and exponents stay numbers anyway
    for (const s of [
      '{"content":["1234567890123456789abc","ab12345678901234567890"]}',
      '{"f":12345678901234567.5}',
      '{"e":1234567890123456789e3}',
      '{"n":123456789012345}',
    ])
      assert.ok(!mayHoldBigInt(s), s);
    const v = parseJson('{"content":["0123456789012345678901"],"inode":18446744073709551615}') as Record<
      string,
      unknown
    >;
    assert.deepEqual(v, { content: ['0123456789012345678901'], inode: 18446744073709551615n });
  });
});

describe('node names (strconv.Quote)', () => {
  const cases: [Buffer, string][] = [
    [Buffer.from('tab\tname'), 'tab\\tname'],
    [Buffer.from('we"ird\\name'), 'we\\"ird\\\\name'],
    [Buffer.from('ümlaut <&>'), 'ümlaut <&>'],
    [Buffer.from([0x66, 0xff, 0x6f]), 'f\\xffo'],
    [Buffer.from('\u00a0nbsp\u200b'), '\\u00a0nbsp\\u200b'],
    [Buffer.from('bell\u0007del\u007f'), 'bell\\adel\\x7f'],
  ];
  it('quotes as restic stores names', () => {
    for (const [raw, q] of cases) assert.equal(quoteNodeName(raw), q);
    assert.equal(goStringify(quoteNodeName(Buffer.from('ümlaut <&>'))), '"ümlaut \\u003c\\u0026\\u003e"');
  });
  it('unquote inverts quote for random byte strings', () => {
    for (let i = 0; i < 500; i++) {
      const raw = randomBytes(1 + (i % 40));
      assert.deepEqual(unquoteNodeName(quoteNodeName(raw)), raw);
    }
    assert.deepEqual(unquoteNodeName('\\101\\U0001f600'), Buffer.from('A😀'));
    assert.throws(() => unquoteNodeName('bad\\q'));
  });
});

describe('Go times', () => {
  it('round-trips RFC 3339 nano strings exactly', () => {
    for (const s of [
      '0001-01-01T00:00:00Z',
      '2026-11-22T12:57:32.593758349Z',
      '2017-03-25T18:50:59.096010907+01:00',
      '2020-01-01T00:00:00.1-08:00',
      '1969-12-31T23:59:59.999999999+05:30',
      '2024-02-29T12:34:56.000000001Z',
    ]) {
      assert.equal(formatGoTime(parseGoTime(s)), s);
    }
    assert.equal(formatGoTime(parseGoTime('2026-11-22T12:00:00.500000000Z')), '2026-11-22T12:00:00.5Z');
    assert.throws(() => parseGoTime('yesterday'));
  });
});

describe('trees, indexes and pack headers', () => {
  it('trees sort by raw bytes and keep big integers', () => {
    const n = (name: string | Buffer): TreeNode => ({
      name: Buffer.from(name),
      type: 'file',
      mtime: '2026-01-01T00:00:00Z',
      atime: '2026-01-01T00:00:00Z',
      ctime: '2026-01-01T00:00:00Z',
      uid: 0,
      gid: 0,
      content: [],
      inode: 18446744073709551615n,
    });
    const buf = encodeTree([n('b'), n('\ue000'), n('😀'), n('a')]);
    assert.ok(buf.toString().startsWith('{"nodes":[{"name":"a"'));
    assert.ok(buf.toString().endsWith(']}\n'));
    const back = decodeTree(buf);
    assert.deepEqual(
      back.map((x) => x.name.toString()),
      ['a', 'b', '\ue000', '😀'],
    );
    assert.equal(back[0].inode, 18446744073709551615n);
    assert.throws(() => encodeTree([n('a'), n('a')]));
    assert.throws(() => decodeTree(Buffer.from('{"nodes":[{"name":"","type":"file"}]}')));
    assert.throws(() => decodeTree(Buffer.from('{"nodes":[{"name":"x","type":"weird"}]}')));
  });
  it('index round trip; compressed entries only in v2', () => {
    const id = 'ab'.repeat(32);
    const idx = {
      packs: [
        {
          id,
          blobs: [
            { id, type: 'data' as const, offset: 0, length: 50, uncompressedLength: 90 },
            { id: 'cd'.repeat(32), type: 'data' as const, offset: 50, length: 40 },
          ],
        },
      ],
    };
    const json = encodeIndex(idx);
    assert.deepEqual(decodeIndex(Buffer.from(json), 2), idx);
    assert.throws(() => decodeIndex(Buffer.from(json), 1));
    assert.throws(() => decodeIndex(Buffer.from('{"packs":[{"id":"zz"}]}'), 2));
  });
  it('pack header round trip and size arithmetic', () => {
    const key = randomKey();
    const blobs = [
      { id: '11'.repeat(32), type: 'data' as const, offset: 0, length: 100 },
      { id: '22'.repeat(32), type: 'data' as const, offset: 100, length: 60, uncompressedLength: 200 },
    ];
    const trailer = encodePackTrailer(key, blobs);
    const size = 160 + trailer.length;
    assert.equal(size, packSizeFromBlobs(blobs));
    const pack = Buffer.concat([Buffer.alloc(160), trailer]);
    const loc = headerLocation(pack.length, pack.subarray(pack.length - 4));
    assert.deepEqual(decodePackHeader(key, pack.subarray(loc.offset, loc.offset + loc.length), 2), blobs);
    const bad = Buffer.from(pack);
    bad.writeUInt32LE(0xffffff, bad.length - 4);
    assert.throws(() => headerLocation(bad.length, bad.subarray(bad.length - 4)));
  });
});

describe('damaged or hostile input (found by the fuzzers)', () => {
  const node = (name: string, extra = '') =>
    `{"name":${JSON.stringify(name)},"type":"file","mtime":"","atime":"","ctime":"","uid":0,"gid":0${extra},"content":[]}`;
  const tree = (...nodes: string[]) => Buffer.from(`{"nodes":[${nodes.join(',')}]}`);
  const corrupt = (re: RegExp) => (e: unknown) => isHoardError(e, 'corrupt') && re.test((e as Error).message);

  it('a tree node name that would leave its folder on restore is damage', () => {
    for (const name of ['..', '.', 'a/b', '/etc', 'a\u0000b'])
      assert.throws(() => decodeTree(tree(node(name))), corrupt(/invalid name/), name);
    assert.equal(decodeTree(tree(node('...'), node('.a'))).length, 2);
  });

  it('a name listed twice is damage (a symlink and a folder of one name could redirect a restore)', () => {
    assert.throws(() => decodeTree(tree(node('a'), node('a'))), corrupt(/twice/));
  });

  it('numbers out of their Go type are damage, not NaN or Infinity passed on', () => {
    for (const extra of [
      ',"mode":1e999',
      ',"mode":-1',
      ',"mode":4294967296',
      ',"size":"12"',
      ',"size":1.5',
      ',"inode":-3',
      ',"uid":1e20',
    ]) {
      assert.throws(() => decodeTree(tree(node('f', extra))), corrupt(/has an invalid/), extra);
    }
    assert.equal(decodeTree(tree(node('f', ',"inode":18446744073709551615')))[0].inode, 18446744073709551615n);
  });

  it('scrypt parameters that scrypt refuses or that would stall an unlock are damage', () => {
    for (const p of [
      { N: 6, r: 1, p: 1 },
      { N: 1024, r: 1, p: 2 ** 20 },
      { N: 2 ** 22, r: 8, p: 8 },
    ])
      assert.throws(() => checkKdfParams(p), corrupt(/invalid scrypt parameters/));
    checkKdfParams({ N: 32768, r: 8, p: 1 });
  });

  it('a snapshot with integers beyond 2^53 in its summary or metadata can still be printed as JSON', () => {
    const s = decodeSnapshot(
      Buffer.from(
        `{"time":"2026-11-30T04:00:00Z","tree":"${'a'.repeat(64)}","paths":null,"summary":{"data_added":123456789012345678901},"hoard":{"size":{"dump_bytes":99999999999999999999}}}`,
      ),
    );
    assert.doesNotThrow(() => JSON.stringify(s.summary) + JSON.stringify(s.hoard));
  });
});
