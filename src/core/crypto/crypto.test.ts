import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deriveKey, keyFromBytes, open, poly1305Aes, poly1305Tag, randomKey, seal, type Key } from './crypto.js';
import { nativeAddon } from '../native.js';
import { hashId, hashIdAsync, hashIdOfParts } from './id.js';

const hex = (s: string) => Buffer.from(s, 'hex');

describe('crypto (restic-format.md §15 vectors)', () => {
  const macVectors = [
    {
      msg: 'f3f6',
      r: '851fc40c3467ac0be05cc20404f3f700',
      k: 'ec074c835580741701425b623235add6',
      nonce: 'fb447350c4e868c52ac3275cf9d4327e',
      mac: 'f4c633c3044fc145f84f335cb81953de',
    },
    {
      msg: '',
      r: 'a0f3080000f46400d0c7e9076c834403',
      k: '75deaa25c09f208e1dc4ce6b5cad3fbf',
      nonce: '61ee09218d29b0aaed7e154a2c5509cc',
      mac: 'dd3fab2251f11ac759f0887129cc2ee7',
    },
    {
      msg: '663cea190ffb83d89593f3f476b6bc24d7e679107ea26adb8caf6652d0656136',
      r: '48443d0bb0d21109c89a100b5ce2c208',
      k: '6acb5f61a7176dd320c5c1eb2edcdc74',
      nonce: 'ae212a55399729595dea458bc621ff0e',
      mac: '0ee1c16bb73f0f4fd19881753c01cdbe',
    },
  ];
  for (const [i, v] of macVectors.entries()) {
    it(`Poly1305-AES vector ${i + 1}`, () => {
      const key: Key = { encrypt: Buffer.alloc(32, 1), macK: hex(v.k), macR: hex(v.r) };
      assert.equal(poly1305Aes(key, hex(v.nonce), hex(v.msg)).toString('hex'), v.mac);
    });
  }

  const vecKey: Key = {
    encrypt: hex('303e8687b1d7db18421bdc6bb8588ccadac4d59ee87b8ff70c44e635790cafef'),
    macK: hex('ef4d8824cb80b2bcc5fbff8a9b12a42c'),
    macR: hex('cc8d4b948ee0ebfe1d415de921d10353'),
  };
  const vecObj = hex(
    '69fb41c62d12def4593bd71757138606338f621aeaeb39da0fe4f99233f8037a54ea63338a813bcf3f75d8c3cc75dddf8750',
  );

  it("opens restic's sealed test object", () => {
    assert.equal(open(vecKey, vecObj).toString(), 'Dies ist ein Test!');
  });

  it('rejects a flipped byte in IV, ciphertext or MAC', () => {
    for (const pos of [0, 20, vecObj.length - 1]) {
      const bad = Buffer.from(vecObj);
      bad[pos] ^= 1;
      assert.throws(() => open(vecKey, bad), /ciphertext verification failed/);
    }
  });

  it('rejects short objects and an all-zero IV', () => {
    assert.throws(() => open(vecKey, Buffer.alloc(31)), /too short/);
    assert.throws(() => open(vecKey, Buffer.alloc(40)), /all-zero IV/);
  });

  it('seal/open round trip with overhead 32', () => {
    const k = randomKey();
    for (const n of [0, 1, 15, 16, 17, 100_000]) {
      const pt = Buffer.alloc(n, 7);
      const obj = seal(k, pt);
      assert.equal(obj.length, n + 32);
      assert.deepEqual(open(k, obj), pt);
    }
  });

  it('scrypt KDF vector (N=128, r=1, p=1)', async () => {
    // restic's repo-layout-default fixture key: salt from its key file, password "geheim".
    const salt = Buffer.from(
      'GbXRH9OqpfeqNMpyu8EbkQmHCBw4bIf4JqvGT+tqAeo//iy8Qqw2DV2Bj1CcENqpV5es7wfyX4HSIuSm6lF2ng==',
      'base64',
    );
    const k = await deriveKey('geheim', salt, { N: 128, r: 1, p: 1 });
    const want =
      'c0a734904ea1ec3674d7043d5b2f882ceec9be76649d936e68845f42c4c1f96df4aad440baaa2a0b44f5def630442f083ab461b1134ff885d8d382ebf77e0de9';
    assert.equal(Buffer.concat([k.encrypt, k.macK, k.macR]).toString('hex'), want);
  });

  it('keyFromBytes splits 64 bytes as restic does', () => {
    const b = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
    const k = keyFromBytes(b);
    assert.equal(k.encrypt[0], 0);
    assert.equal(k.macK[0], 32);
    assert.equal(k.macR[0], 48);
  });
});

describe('Poly1305: native addon against @noble/ciphers', () => {
  it('gives the same tag for random keys and messages of every length up to 300 bytes and a few large ones', (t) => {
    if (!nativeAddon()) {
      if (process.env.HOARD_TEST_REQUIRE_SERVICES === '1')
        assert.fail('the native addon is not built (npm install runs node-gyp)');
      t.skip('native addon not built');
      return;
    }
    const lengths = [...Array.from({ length: 301 }, (_, i) => i), 4096, 65537, 1 << 20];
    for (const n of lengths) {
      const key = randomBytes(32);
      if (n % 7 === 0) key.fill(0xff, 0, 16); // r at its clamped maximum
      const msg = n % 11 === 0 ? Buffer.alloc(n, 0xff) : randomBytes(n); // all-ones messages push h near p
      assert.deepEqual(poly1305Tag(key, msg, true), poly1305Tag(key, msg, false), `length ${n}`);
    }
  });
});

describe('SHA-256 of chunk parts on the thread pool', () => {
  it('the native addon and WebCrypto give hashId of the joined parts, for empty, single and many parts', async (t) => {
    const native = nativeAddon()?.sha256;
    if (!native) {
      if (process.env.HOARD_TEST_REQUIRE_SERVICES === '1')
        assert.fail('the native addon is not built, or lacks sha256 (npm install runs node-gyp)');
      t.skip('native addon not built');
    }
    const cases: Buffer[][] = [
      [Buffer.alloc(0)],
      [randomBytes(1)],
      [randomBytes(1 << 20)],
      [randomBytes(3), Buffer.alloc(0), randomBytes(70_000)],
      Array.from({ length: 8 }, (_, i) => randomBytes(1000 * i + 1)),
      Array.from({ length: 11 }, () => randomBytes(4096)),
    ];
    for (const parts of cases) {
      const want = hashId(Buffer.concat(parts));
      assert.equal(hashIdOfParts(parts), want);
      assert.equal(await hashIdAsync(parts), want, `${parts.length} parts`);
      if (native && parts.length <= 8) assert.equal(await native(parts), want);
    }
    if (native) assert.throws(() => native(Array.from({ length: 9 }, () => Buffer.alloc(1))), /1 to 8/);
  });
});
