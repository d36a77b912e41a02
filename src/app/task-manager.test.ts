import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HoardError } from '../core/index.js';
import { createTaskManager } from './task-manager.js';

describe('task manager', () => {
  it("keeps and serves a failed task's error without the secrets it quotes", async () => {
    const m = createTaskManager(() => Date.now());
    const a = m.start('restore', async () => {
      throw new HoardError('io', 'cannot reach postgres://app:tasksecret@db/shop', {
        hint: 'check PGPASSWORD=hintsecret',
      });
    });
    const b = m.start('backup', async () => {
      throw new Error('mysqldump -u root -pplainsecret failed');
    });
    await m.settled();
    assert.deepEqual(m.get(a.id)!.error, {
      kind: 'io',
      message: 'cannot reach postgres://app:***@db/shop',
      hint: 'check PGPASSWORD=***',
    });
    assert.deepEqual(m.get(b.id)!.error, { kind: 'internal', message: 'mysqldump -u root -p*** failed', hint: null });
    const events: unknown[] = [];
    m.follow(
      a.id,
      (e) => events.push(e),
      () => {},
    );
    assert.doesNotMatch(JSON.stringify(events), /tasksecret|hintsecret/);
  });
});
