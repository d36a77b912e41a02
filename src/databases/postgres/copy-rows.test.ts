import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CopyRowCounter, copyTarget, unquoteQualified } from './copy-rows.js';

const DUMP = [
  'SET statement_timeout = 0;',
  'CREATE TABLE public.t (x int);',
  'COPY public.t (x) FROM stdin;',
  '1',
  '2',
  '\\\\.not-the-end',
  '3',
  '\\.',
  '',
  'COPY public."Odd ""Name""" (a, b) FROM stdin;',
  '\\.',
  'COPY billing.invoices (no, total) FROM stdin;',
  `${'x'.repeat(200000)}\t1`,
  '\\.',
  "SELECT pg_catalog.setval('public.t_seq', 3, true);",
  '',
].join('\n');

describe('COPY row counter', () => {
  it('parses COPY targets with quoted names', () => {
    assert.equal(copyTarget('COPY public.t (x) FROM stdin;'), 'public.t');
    assert.equal(copyTarget('COPY public."Odd ""Name""" (a, b) FROM stdin;'), 'public.Odd "Name"');
    assert.equal(copyTarget('COPY public.empty FROM stdin;'), 'public.empty');
    assert.equal(copyTarget('CREATE TABLE x'), null);
    assert.equal(unquoteQualified('"a.b".c'), 'a.b.c');
  });

  it('counts every row whatever the chunk boundaries, long rows and escaped backslashes included', () => {
    const bytes = Buffer.from(DUMP);
    for (const size of [1, 2, 3, 7, 64, 1000, 65536, bytes.length]) {
      const c = new CopyRowCounter();
      for (let o = 0; o < bytes.length; o += size) c.feed(bytes.subarray(o, o + size));
      assert.deepEqual(
        [...c.rows],
        [
          ['public.t', 4],
          ['public.Odd "Name"', 0],
          ['billing.invoices', 1],
        ],
        `chunk size ${size}`,
      );
    }
  });
});
