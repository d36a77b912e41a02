/**
 * The pre-change lifecycle: a backup taken with --ticket (and every pre-migration backup) is kept
 * by retention until `hoard confirm ID --by NAME` records who verified the change; list and info
 * show the ticket and who confirmed when; then its retention runs. Bad requests change nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ROOT, hoard, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';

type Backup = {
  id: string;
  short_id: string;
  kind: string;
  ticket: string | null;
  confirmation: { by: string; at: string; note: string | null } | null;
  awaiting_confirmation: boolean;
};
type Decision = { id: string; remove: boolean; reasons: string[] };

describe('pre-change confirmation', () => {
  it('a --ticket backup is kept until confirmed, then its retention runs; migrate leaves its snapshot awaiting', async (t) => {
    const dir = await tempDir(t, 'hoard-confirm-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    const run = (args: string[]) => hoard(args, { cwd: dir, env: CLEAN_ENV });
    const json = async (args: string[]) => {
      const r = await run([...args, '--json']);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    assert.equal((await run(['init', '--yes', '--no-backup'])).code, 0);
    const b = await run(['backup', '--kind', 'daily', '--ticket', 'CHG-7', '--json']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal((await run(['backup', '--kind', 'daily'])).code, 0);
    let [ticketed, plain] = (await json(['list'])) as Backup[];
    assert.deepEqual([ticketed.ticket, ticketed.awaiting_confirmation, ticketed.confirmation], ['CHG-7', true, null]);
    assert.deepEqual([plain.ticket, plain.awaiting_confirmation], [null, false]);
    assert.match((await run(['list'])).stdout, /awaiting confirmation of CHG-7/);
    assert.match((await run(['info', ticketed.id])).stdout, /confirmed +awaiting: hoard confirm [0-9a-f]{8} --by NAME/);

    const plan = async () =>
      ((await json(['forget', '--keep-last', '1', '--dry-run'])).decisions as Decision[]).find((d) =>
        d.id.startsWith(ticketed.short_id),
      )!;
    let d = await plan();
    assert.equal(d.remove, false);
    assert.ok(
      d.reasons.some((x) => /awaiting confirmation of CHG-7/.test(x)),
      d.reasons.join('; '),
    );

    // refusals change nothing
    const noBy = await run(['confirm', ticketed.id]);
    assert.equal(noBy.code, 1);
    assert.match(noBy.stderr, /confirm needs --by NAME/);
    const notAwaiting = await run(['confirm', plain.id, '--by', 'ana']);
    assert.equal(notAwaiting.code, 1);
    assert.match(notAwaiting.stderr, /awaits no confirmation/);

    const c = await json(['confirm', ticketed.id, '--by', 'ana', '--note', 'orders page checked']);
    assert.equal(c.previous_id, ticketed.id);
    assert.equal(c.confirmation.by, 'ana');
    [ticketed] = ((await json(['list'])) as Backup[]).filter((x) => x.ticket === 'CHG-7');
    assert.equal(ticketed.id, c.snapshot_id, 'the id changed as after restic tag');
    assert.equal(ticketed.awaiting_confirmation, false);
    assert.deepEqual([ticketed.confirmation?.by, ticketed.confirmation?.note], ['ana', 'orders page checked']);
    assert.match((await run(['info', ticketed.id])).stdout, /confirmed +by ana at .*: orders page checked/);
    d = await plan();
    assert.equal(d.remove, true, `its retention runs once confirmed: ${d.reasons.join('; ')}`);
    const again = await run(['confirm', ticketed.id, '--by', 'bob']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already confirmed by ana/);

    // a manual backup taken with a ticket is let go once confirmed: it gets the pre-change retention from then
    const manual = await json(['backup', '--ticket', 'CHG-9']);
    assert.equal((await json(['confirm', manual.snapshot_id, '--by', 'ana'])).confirmation.by, 'ana');
    const [m9] = ((await json(['list'])) as (Backup & { expires_at: string | null })[]).filter(
      (x) => x.ticket === 'CHG-9',
    );
    assert.equal(m9.kind, 'manual');
    assert.equal(Date.parse(m9.expires_at!) - Date.parse(m9.confirmation!.at), 7 * 86_400_000);
    const plan9 = ((await json(['cleanup', '--dry-run'])).decisions as Decision[]).find((x) => x.id === m9.id)!;
    assert.ok(!plan9.reasons.some((x) => /manual/.test(x)), plan9.reasons.join('; '));
    assert.ok(
      plan9.reasons.some((x) => /^expires /.test(x)),
      plan9.reasons.join('; '),
    );

    const m = await run(['migrate', '--ticket', 'CHG-8', '--', 'true']);
    assert.equal(m.code, 0, m.stderr);
    const [pre] = ((await json(['list', '--kind', 'pre-migration'])) as Backup[]).filter((x) => x.ticket === 'CHG-8');
    assert.ok(pre, 'the pre-migration backup carries the ticket');
    assert.equal(pre.awaiting_confirmation, true);
  });
});
