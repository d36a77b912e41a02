/**
 * What the fuzzers feed: every parser of untrusted input, each with valid seed inputs, the call that
 * consumes a (mutated) input the way hoard does, and which failures count as clean. A clean failure
 * is a HoardError of an expected kind; anything else thrown (TypeError, RangeError, a plain Error,
 * kind "internal") is a crash. Repository formats are fuzzed as plaintext (after decryption), since
 * a mutated ciphertext only ever fails its MAC; the damage sweep covers the encrypted files.
 */
import { isHoardError } from '../../src/core/errors.js';
import { type Key, open, randomKey, seal } from '../../src/core/crypto/crypto.js';
import {
  createKeyFile,
  decodeKeyFile,
  decodeMasterKey,
  encodeKeyFile,
  encodeMasterKey,
  openKeyFile,
} from '../../src/core/format/key-file.js';
import { decodeConfig, encodeConfig } from '../../src/core/format/config.js';
import { decodePackHeader, encodePackTrailer, headerLocation, type PackedBlob } from '../../src/core/format/pack.js';
import { decodeBlob, encodeBlob } from '../../src/core/repository/blob-codec.js';
import { decodeIndex, encodeIndex } from '../../src/core/format/index-file.js';
import { decodeUnpacked, encodeUnpacked } from '../../src/core/format/unpacked.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/core/format/snapshot.js';
import { decodeTree, encodeTree, type TreeNode } from '../../src/core/format/tree.js';
import { decodeLock, encodeLock } from '../../src/core/format/lock.js';
import { zstdCompress, zstdDecompress } from '../../src/core/format/compression.js';
import { goTimeToMs, parseGoTime } from '../../src/core/format/time.js';
import { isStale } from '../../src/core/repository/locks.js';
import { MasterIndex } from '../../src/core/repository/master-index.js';
import { hashId } from '../../src/core/crypto/id.js';
import { toRecord } from '../../src/app/snapshot-view.js';
import { decodeVerification } from '../../src/core/verify/records.js';
import { parseDatabaseUrl, describe as describeDb, redactUrl } from '../../src/databases/url.js';
import { parseRepositoryUrl } from '../../src/backends/index.js';
import { checkHostKey } from '../../src/backends/sftp/known-hosts.js';
import { machineZone, nextDue, parseDotenv, parseDuration, parseSchedule } from '../../src/config/index.js';
import { parseConfig } from '../../src/config/parse.js';
import { parseArgs } from '../../src/cli/args.js';
import { loadCommands } from '../../src/cli/commands.js';
import { GLOBAL_FLAGS } from '../../src/cli/context.js';

const COMMANDS = await loadCommands();

/** One seed: its bytes and, for JSON, the parsed value (for structural mutation). */
export interface Seed {
  bytes: Buffer;
  json?: unknown;
}

export interface FuzzTarget {
  name: string;
  seeds(): Promise<Seed[]> | Seed[];
  /** Consumes one input as hoard would; returns normally or throws. */
  run(input: Buffer): Promise<unknown> | unknown;
  /** True when a thrown value is a clean, expected rejection. */
  clean(e: unknown): boolean;
  /** The consumer takes any input (bad input gives a default or an error value, never a throw). */
  total?: true;
}

const corrupt = (e: unknown) => isHoardError(e, 'corrupt');
const jsonSeed = (v: unknown, text = JSON.stringify(v)): Seed => ({ bytes: Buffer.from(text), json: v });
const raw = (b: Buffer): Seed => ({ bytes: b, json: tryJson(b) });
function tryJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString());
  } catch {
    return undefined;
  }
}

const KEY: Key = randomKey();
const NOW = '2026-11-30T04:00:00.123456789+01:00';

function sampleNodes(): TreeNode[] {
  const id = (c: string) => c.repeat(64);
  const base = {
    mtime: NOW,
    atime: NOW,
    ctime: NOW,
    uid: 1000,
    gid: 1000,
    user: 'app',
    group: 'app',
    inode: 2n ** 60n,
    device_id: 2049,
    links: 1,
  };
  return [
    { ...base, name: Buffer.from('data.sql'), type: 'file', mode: 0o644, size: 5, content: [id('a'), id('b')] },
    {
      ...base,
      name: Buffer.from('dir with space'),
      type: 'dir',
      mode: 2 ** 31 + 0o755,
      content: null,
      subtree: id('c'),
    },
    {
      ...base,
      name: Buffer.from([0x62, 0xff, 0x0a]),
      type: 'symlink',
      mode: 2 ** 27 + 0o777,
      linktarget: '../x',
      content: null,
    },
    {
      ...base,
      name: Buffer.from('xattr'),
      type: 'file',
      size: 0,
      content: [],
      extended_attributes: [{ name: 'user.k', value: Buffer.from('v') }],
    },
  ];
}

/** Blobs in a pack, the trailer sealed around a (possibly mutated) plaintext header. */
function packWith(header: Buffer, blobs: Buffer[]): Buffer {
  const sealed = seal(KEY, header);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(sealed.length);
  return Buffer.concat([...blobs, sealed, len]);
}

const PACK_BLOBS = ['first blob', 'x'.repeat(5000), 'tree-ish {"nodes":[]}'].map((s, i) => {
  const data = Buffer.from(s);
  const e = encodeBlob(KEY, data, i === 1 ? 'auto' : 'off');
  return { data, e };
});

function packedEntries(): PackedBlob[] {
  let offset = 0;
  return PACK_BLOBS.map(({ data, e }, i) => {
    const b: PackedBlob = {
      id: hashId(data),
      type: i === 2 ? 'tree' : 'data',
      offset,
      length: e.sealed.length,
      ...(e.uncompressedLength !== undefined ? { uncompressedLength: e.uncompressedLength } : {}),
    };
    offset += e.sealed.length;
    return b;
  });
}

/** Parses a whole pack as check --read-data does: header location, header, then every blob. */
function readWholePack(bytes: Buffer): void {
  const loc = headerLocation(bytes.length, bytes.subarray(bytes.length - 4));
  for (const b of decodePackHeader(KEY, bytes.subarray(loc.offset, loc.offset + loc.length), 2)) {
    decodeBlob(KEY, bytes.subarray(b.offset, b.offset + b.length), b.id, b.uncompressedLength);
  }
}

const HOST_KEY = Buffer.concat([
  Buffer.from([0, 0, 0, 11]),
  Buffer.from('ssh-ed25519'),
  Buffer.from([0, 0, 0, 32]),
  Buffer.alloc(32, 7),
]);
const owner = { hostname: 'h', username: 'u', pid: 1, isProcessAlive: () => true };
const SAFE_NAME = (n: Buffer) =>
  n.length > 0 && !n.includes(0x2f) && !n.includes(0) && n.toString('latin1') !== '.' && n.toString('latin1') !== '..';

const SNAPSHOT = {
  time: NOW,
  tree: 'd'.repeat(64),
  paths: ['/srv/app'],
  hostname: 'h',
  username: 'u',
  tags: ['nightly'],
  summary: { total_bytes_processed: 10, data_added: 5 },
  hoard: {
    kind: 'daily',
    label: 'l',
    reason: 'r',
    environment: 'production',
    source: { name: 'db', type: 'postgres' },
    database: { engine: 'postgres', name: 'app' },
    size: { dump_bytes: 10 },
    retention_days: 7,
    expires_at: '2026-12-07T04:00:00Z',
    pinned: false,
    verification: { level: 'quick', ok: true, at: NOW },
  },
};

const YAML = `version: 1
environment: production
repository: local
repositories:
  local: { url: .hoard/repo, password: "file:.hoard/password" }
  offsite: { url: "s3:http://127.0.0.1:9000/bucket/hoard", password: "env:HOARD_PASSWORD", s3: { region: us-east-1, path_style: true }, limit_upload: 1024 }
environments:
  production: { protected: true, retention_days: 120 }
sources:
  db: { type: postgres, url: "env:DATABASE_URL", format: custom }
  files: { type: files, paths: [uploads], exclude: ["*.tmp"] }
jobs:
  nightly: { sources: [db, files], schedule: "daily at 02:00", kind: daily, destinations: [local, offsite] }
retention:
  daily: { days: 7 }
  manual: forever
verify:
  after_backup: quick
  read_back: { schedule: "daily at 12:00", subset: 5% }
notifications:
  - { type: slack, url: "env:SLACK_URL", on: [backup.failed] }
server:
  listen: 127.0.0.1:7420
`;

/** Anchors and aliases (the fuzzer mutates them into unresolved and exploding ones). */
const ALIASES = `defaults: &d { type: files, exclude: ["*.tmp"] }
lots: &l [*d, *d, *d, *d, *d, *d, *d, *d]
more: &m [*l, *l, *l, *l, *l, *l, *l, *l]
sources:
  files: { <<: *d, paths: [uploads] }
`;

const ARGV_WORDS = [
  'backup',
  'restore',
  'list',
  'prune',
  'verify',
  '--json',
  '--repo',
  '-r',
  '--tag',
  'x',
  '--',
  '--exclude',
  '*.tmp',
  '--days',
  '-1',
  '--keep-daily',
  '7',
  '--read-data-subset',
  '10%',
  '--retry-lock',
  '5m',
  '--limit-upload',
  '0',
  '--constructor',
  '--__proto__',
  '--toString',
  '-h',
  '=',
  '--x=y',
];

export const TARGETS: FuzzTarget[] = [
  {
    name: 'key file',
    async seeds() {
      const kf = await createKeyFile(
        KEY,
        'pw',
        { created: NOW, username: 'u', hostname: 'h' },
        { N: 1024, r: 1, p: 1 },
      );
      return [raw(encodeKeyFile(kf))];
    },
    async run(input) {
      return openKeyFile(decodeKeyFile(input), 'pw');
    },
    clean: corrupt,
  },
  { name: 'master key', seeds: () => [raw(encodeMasterKey(KEY))], run: (i) => decodeMasterKey(i), clean: corrupt },
  {
    name: 'repository config',
    seeds: () => [raw(encodeConfig({ version: 2, id: 'e'.repeat(64), chunkerPolynomial: 0x3da3358b4dc173n }))],
    run: (i) => decodeConfig(i),
    clean: corrupt,
  },
  {
    name: 'pack file',
    seeds: () => [
      { bytes: Buffer.concat([...PACK_BLOBS.map((b) => b.e.sealed), encodePackTrailer(KEY, packedEntries())]) },
    ],
    run: (i) => readWholePack(i),
    clean: corrupt,
  },
  {
    name: 'pack header',
    seeds() {
      const t = encodePackTrailer(KEY, packedEntries());
      return [{ bytes: open(KEY, t.subarray(0, t.length - 4)) }];
    },
    run: (i) =>
      readWholePack(
        packWith(
          i,
          PACK_BLOBS.map((b) => b.e.sealed),
        ),
      ),
    clean: corrupt,
  },
  {
    name: 'index',
    seeds() {
      const text = encodeIndex({
        supersedes: ['f'.repeat(64)],
        packs: [{ id: 'a'.repeat(64), blobs: packedEntries() }],
      });
      return [raw(Buffer.from(text)), { bytes: encodeUnpacked(text, 2) }];
    },
    run(i) {
      const m = new MasterIndex();
      m.addIndexFile(decodeIndex(decodeUnpacked(i, 2), 2));
      return m;
    },
    clean: corrupt,
  },
  {
    name: 'snapshot',
    seeds: () => [jsonSeed(SNAPSHOT, encodeSnapshot(SNAPSHOT)), { bytes: encodeUnpacked(encodeSnapshot(SNAPSHOT), 2) }],
    run(i) {
      const snapshot = decodeSnapshot(decodeUnpacked(i, 2));
      let timeMs = 0;
      try {
        timeMs = goTimeToMs(parseGoTime(snapshot.time));
      } catch {
        /* listSnapshots keeps 0 */
      }
      return JSON.stringify(toRecord({ id: 'a'.repeat(64), snapshot, timeMs }));
    },
    clean: corrupt,
  },
  {
    name: 'tree',
    seeds: () => [raw(encodeTree(sampleNodes()))],
    run(i) {
      const nodes = decodeTree(i);
      // what restore relies on: names that stay inside the target folder, each once
      const seen = new Set<string>();
      for (const n of nodes) {
        if (!SAFE_NAME(n.name))
          throw new Error(`decoded a node name that escapes its folder: ${JSON.stringify(n.name.toString('latin1'))}`);
        if (seen.has(n.name.toString('latin1'))) throw new Error('decoded a tree with a duplicate name');
        seen.add(n.name.toString('latin1'));
      }
      return encodeTree(nodes);
    },
    clean: corrupt,
  },
  {
    name: 'verification record',
    seeds: () => [
      raw(
        Buffer.from(
          JSON.stringify({
            snapshot: 'a'.repeat(64),
            original: 'b'.repeat(64),
            level: 'drill',
            ok: false,
            at: NOW,
            duration_ms: 5,
            subset: 0.1,
            checks: [{ name: 'tables', ok: false, message: 'users: 0 rows' }],
            message: 'users: 0 rows',
            hostname: 'h',
            program_version: 'hoard 0.1.0',
          }),
        ),
      ),
    ],
    run(i) {
      const v = decodeVerification(i);
      return JSON.stringify(
        toRecord(
          { id: 'a'.repeat(64), snapshot: { time: NOW, tree: 'd'.repeat(64), paths: null }, timeMs: 0 },
          v ? [v] : [],
        ),
      );
    },
    clean: () => false,
    total: true,
  },
  {
    name: 'lock',
    seeds: () => [
      raw(
        Buffer.from(
          encodeLock({ time: NOW, exclusive: true, hostname: 'h', username: 'u', pid: 42, uid: 1000, gid: 1000 }),
        ),
      ),
    ],
    run(i) {
      return isStale(decodeLock(decodeUnpacked(i, 2)), Date.now(), owner);
    },
    clean: corrupt,
  },
  {
    name: 'zstd frame',
    seeds: () => [{ bytes: zstdCompress(Buffer.from(YAML.repeat(20))) }],
    run: (i) => zstdDecompress(i, 1024 * 1024),
    clean: corrupt,
  },
  {
    name: 'hoard.yaml',
    seeds: () => [{ bytes: Buffer.from(YAML) }, { bytes: Buffer.from(ALIASES) }],
    run: (i) => parseConfig(i.toString('utf8'), '/p/hoard.yaml'),
    clean: (e) => isHoardError(e, 'config'),
  },
  {
    name: 'database URL',
    seeds: () =>
      [
        'postgres://app:s%40cret@db.example:5432/shop?sslmode=require',
        'mysql://root@[::1]:3306/app',
        'mariadb://u:p@h/d',
        'sqlite:data/app.db',
        'sqlite:///abs/app.db',
        'app.db',
      ].map((u) => ({ bytes: Buffer.from(u) })),
    run(i) {
      const text = i.toString('utf8');
      return [describeDb(parseDatabaseUrl(text)), redactUrl(text)];
    },
    clean: (e) => isHoardError(e, 'usage'),
  },
  {
    name: 'repository URL',
    seeds: () =>
      [
        '/srv/backups/repo',
        'local:/srv/repo',
        's3:https://s3.example.com/bucket/prefix',
        's3:http://127.0.0.1:9000/b',
        'sftp://user@host:2222//srv/repo',
        'sftp:user@host:/srv/repo',
        'rest:http://x/',
      ].map((u) => ({ bytes: Buffer.from(u) })),
    run: (i) => parseRepositoryUrl(i.toString('utf8')),
    clean: (e) => isHoardError(e, 'usage') || isHoardError(e, 'config'),
  },
  {
    name: 'known_hosts',
    seeds: () => [
      {
        bytes: Buffer.from(
          `# comment\n[backup.example]:2222 ssh-ed25519 ${HOST_KEY.toString('base64')}\nother,10.0.0.1 ssh-rsa AAAAB3NzaC1yc2E=\n|1|c2FsdA==|aGFzaA== ssh-ed25519 AAAA\n@revoked * ssh-rsa AAAA\n`,
        ),
      },
    ],
    run: (i) =>
      checkHostKey(HOST_KEY, 'backup.example', 2222, { knownHosts: i.toString('utf8'), file: '~/.ssh/known_hosts' }),
    clean: (e) => isHoardError(e, 'usage'),
  },
  {
    name: 'schedule and duration',
    seeds: () =>
      [
        'daily at 02:00',
        'weekly on sunday at 03:30',
        'every 15m',
        '0 3 * * 1-5',
        '*/10 * * * *',
        'on change',
        '90s',
        '1h30m',
      ].map((s) => ({ bytes: Buffer.from(s) })),
    run(i) {
      const s = parseSchedule(i.toString('utf8'));
      parseDuration(i.toString('utf8'));
      return s.ok ? nextDue(s.schedule, undefined, Date.UTC(2026, 10, 30), machineZone()) : s.error;
    },
    clean: () => false,
    total: true,
  },
  {
    name: '.env',
    seeds: () => [
      { bytes: Buffer.from('export A=1\nB="two\\nlines" # c\nC=\'x\'\n# comment\nD = spaced value # note\n') },
    ],
    run: (i) => parseDotenv(i.toString('utf8')),
    clean: () => false,
    total: true,
  },
  {
    name: 'CLI flags',
    seeds: () => COMMANDS.slice(0, 8).map((c, k) => jsonSeed([c.name, ...ARGV_WORDS.slice(k, k + 6)])),
    run(i) {
      const words = tryJson(i);
      const argv = Array.isArray(words) ? words.map(String) : i.toString('utf8').split(/\s+/);
      // as the CLI does: the first word that is not a flag names the command
      const name = argv.find((a) => !a.startsWith('-'));
      const cmd = COMMANDS.find((c) => c.name === name) ?? COMMANDS[argv.length % COMMANDS.length];
      return parseArgs(
        argv.filter((a) => a !== name),
        { ...GLOBAL_FLAGS, ...cmd.flags },
        cmd.name,
      );
    },
    clean: (e) => isHoardError(e, 'usage'),
  },
];
