import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { workerExecArgv } from './worker-options.js';

describe('workerExecArgv', () => {
  it('drops the flags that describe the main script and keeps the rest', () => {
    assert.deepEqual(workerExecArgv(['--import', 'tsx', '--input-type=module', '-e', 'code()', '--no-warnings']), [
      '--import',
      'tsx',
      '--no-warnings',
    ]);
    assert.deepEqual(workerExecArgv(['--input-type', 'module', '--eval', 'x', '-p', 'y', '--print=z']), []);
    assert.deepEqual(workerExecArgv(['--test', '--watch', '--enable-source-maps']), ['--enable-source-maps']);
  });

  it('leaves inheritance to Node when nothing needs dropping', () => {
    assert.equal(workerExecArgv([]), undefined);
    assert.equal(workerExecArgv(['--max-old-space-size=4096', '--import', 'tsx']), undefined);
  });
});
