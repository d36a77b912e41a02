import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COMMAND_NAMES, loadCommand, loadCommands } from './commands.js';

describe('the command table', () => {
  it('loads, under each name, the command of that name', async () => {
    for (const name of COMMAND_NAMES) assert.equal((await loadCommand(name))?.name, name);
    assert.equal(loadCommand('no-such-command'), undefined);
  });

  it('lists every command once, in the order help shows', async () => {
    const names = (await loadCommands()).map((c) => c.name);
    assert.deepEqual(names, [...COMMAND_NAMES]);
    assert.equal(new Set(names).size, names.length);
  });
});
