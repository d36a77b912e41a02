import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HoardError } from '../../core/index.js';
import { RestrictLineFilter, refusalError, restrictVerdict, restrictedScript } from './restrict-filter.js';
import { hasRestrictMode } from './tools.js';

const KEY = 'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1eF3hJ5kL7nP9rS1uV3xY5zA7cD9fG1hJ';

/** The filter's output for `text` fed in pieces of `size` bytes. */
function run(text: string | Buffer, size: number): { out: string; filter: RestrictLineFilter } {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const filter = new RestrictLineFilter();
  const parts: Buffer[] = [];
  for (let o = 0; o < bytes.length; o += size) parts.push(...filter.push(bytes.subarray(o, o + size)));
  parts.push(...filter.end());
  return { out: Buffer.concat(parts).toString(), filter };
}

/** Every chunk size from 1 to 40, some larger ones and the whole input at once must give `expected`. */
function allSizes(text: string, expected: string): void {
  const sizes = [...Array.from({ length: 40 }, (_, i) => i + 1), 64, 100, 257, 4096, Buffer.byteLength(text)];
  for (const size of sizes) assert.equal(run(text, size).out, expected, `chunk size ${size}`);
}

const DUMP = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  `\\restrict ${KEY}`,
  '',
  'SET statement_timeout = 0;',
  'CREATE TABLE public.t (x text);',
  'COPY public.t (x) FROM stdin;',
  `\\restrict ${KEY}`,
  `\\unrestrict ${KEY}`,
  '\\restrict x',
  '\\\\.not the end',
  '\\.',
  'SELECT 1;',
  `\\unrestrict ${KEY}`,
  '',
].join('\n');

describe('psql restricted-mode filter', () => {
  it("turns the dump's own \\restrict and \\unrestrict lines into empty lines, whatever the chunk boundaries", () => {
    const expected = DUMP.replace(`\n\\restrict ${KEY}\n\nSET`, '\n\n\nSET').replace(
      `SELECT 1;\n\\unrestrict ${KEY}\n`,
      'SELECT 1;\n\n',
    );
    assert.equal(expected.split('\n').length, DUMP.split('\n').length, 'line numbers stay those of the dump');
    assert.ok(
      expected.includes(`COPY public.t (x) FROM stdin;\n\\restrict ${KEY}\n\\unrestrict ${KEY}\n\\restrict x\n`),
      'COPY data is untouched',
    );
    allSizes(DUMP, expected);
  });

  it('passes COPY data that looks like restrict lines, also after a COPY header longer than what it keeps of a line', () => {
    const header = `COPY public.wide (${Array.from({ length: 300 }, (_, i) => `column_${i}`).join(', ')}) FROM stdin;`;
    const text = `${header}\n\\restrict not-a-command\n\\.\n\\unrestrict ${KEY}\nCOPY public.t (x) FROM stdin;\n\\unrestrict x\n\\.\n`;
    allSizes(text, `${header}\n\\restrict not-a-command\n\\.\n\nCOPY public.t (x) FROM stdin;\n\\unrestrict x\n\\.\n`);
  });

  it('handles CRLF lines: restrict lines, COPY headers and the end-of-data marker', () => {
    const text = `\\restrict ${KEY}\r\nCOPY public.t (x) FROM stdin;\r\n\\restrict data\r\n\\.\r\n\\unrestrict ${KEY}\r\nSELECT 1;\r\n`;
    allSizes(text, `\nCOPY public.t (x) FROM stdin;\r\n\\restrict data\r\n\\.\r\n\nSELECT 1;\r\n`);
  });

  it('leaves every other line alone: other meta-commands (psql refuses them), look-alikes, a last line without newline', () => {
    const text =
      '\\! touch /tmp/x\n\\restrictive\n\\unrestricted\n\\restrict\n\\\n\\r\n  \\restrict indented\nSELECT ' +
      "'\\restrict';\n\\unrestrict last";
    allSizes(
      text,
      "\\! touch /tmp/x\n\\restrictive\n\\unrestricted\n\n\\\n\\r\n  \\restrict indented\nSELECT '\\restrict';\n",
    );
    allSizes('SELECT 1;\n\\restri', 'SELECT 1;\n\\restri');
  });

  it('decides a line by its start: drop, pass, or wait for more', () => {
    assert.equal(restrictVerdict(Buffer.from('\\restrict K'), true), 'drop');
    assert.equal(restrictVerdict(Buffer.from('\\unrestrict\tK'), false), 'drop');
    assert.equal(restrictVerdict(Buffer.from('\\restrict'), false), 'wait');
    assert.equal(restrictVerdict(Buffer.from('\\restrict'), true), 'drop');
    assert.equal(restrictVerdict(Buffer.from('\\unres'), false), 'wait');
    assert.equal(restrictVerdict(Buffer.from('\\unres'), true), 'pass');
    assert.equal(restrictVerdict(Buffer.from('\\!'), false), 'pass');
    assert.equal(restrictVerdict(Buffer.from('\\restricted'), false), 'pass');
  });

  it('notes the lines starting with a backslash outside COPY data, for the message when psql refuses one', () => {
    const text =
      'SELECT 1;\nCOPY public.t (x) FROM stdin;\n\\! inside copy\n\\.\n\\! touch /tmp/marker\n  \\o /tmp/out\n';
    for (const size of [1, 5, text.length]) {
      const { filter } = run(text, size);
      assert.equal(filter.notes.describe(5), 'line 5 (`\\! touch /tmp/marker`)', `chunk size ${size}`);
      assert.equal(filter.notes.describe(6), 'line 6 (`  \\o /tmp/out`)');
      assert.equal(filter.notes.describe(3), 'line 3', 'COPY data is not noted');
    }
  });

  it("starts psql's script with \\restrict and a fresh key, then the prelude; psql's refusal becomes kind corrupt naming the dump's line", async () => {
    async function* dump() {
      yield Buffer.from('SELECT 1;\n\\! touch /tmp/marker\n');
    }
    const a = restrictedScript(dump(), 'DO $$ BEGIN END $$;\nSELECT 2;\n');
    const b = restrictedScript(dump(), '');
    const parts: Buffer[] = [];
    for await (const p of a.script) parts.push(p);
    const text = Buffer.concat(parts).toString();
    const key = /^\\restrict ([0-9a-f]{48})\n/.exec(text)?.[1];
    assert.ok(key, text);
    assert.equal(
      text.slice(text.indexOf('\n') + 1),
      'DO $$ BEGIN END $$;\nSELECT 2;\nSELECT 1;\n\\! touch /tmp/marker\n',
    );
    assert.equal(a.offset, 3);
    for await (const p of b.script) assert.ok(!p.toString().includes(key), 'each script has its own key');
    const psqlSaid = new HoardError(
      'command-failed',
      'psql exited with status 3: psql:<stdin>:5: error: backslash commands are restricted; only ' +
        '\\unrestrict is allowed',
    );
    const e = refusalError(psqlSaid, a.filter, a.offset) as HoardError;
    assert.equal(e.kind, 'corrupt');
    assert.match(
      e.message,
      /^the dump tries to run a psql command at line 2 \(`\\! touch \/tmp\/marker`\), which no dump of pg_dump contains/,
    );
    const other = new HoardError(
      'command-failed',
      'psql exited with status 3: psql:<stdin>:9: ERROR:  relation "x" does not exist',
    );
    assert.equal(refusalError(other, a.filter, a.offset), other);
  });

  it('knows which psql versions have restricted mode', () => {
    for (const v of ['13.22', '14.19', '15.14', '15.20', '16.10', '17.6', '18.0', '18.1', '19devel'])
      assert.ok(hasRestrictMode(`psql (PostgreSQL) ${v} (Debian)`), v);
    for (const v of ['12.22', '13.21', '14.18', '15.13', '16.9', '17.5', '11.22', '9.6.24'])
      assert.ok(!hasRestrictMode(`psql (PostgreSQL) ${v}`), v);
    assert.ok(!hasRestrictMode(''));
  });
});
