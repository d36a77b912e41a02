/** An interrupted backup: exit 130, no snapshot, no lock left behind, a repository that checks clean. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { textLike } from '../helpers/data.js';
import { CLI, hoard, tempDir } from '../helpers/services.js';

describe('interrupts', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during a backup exits 130 and leaves a clean repository`, async (t) => {
      const dir = await tempDir(t);
      const repo = path.join(dir, 'repo');
      const env = { ...process.env, HOARD_REPOSITORY: repo, HOARD_PASSWORD: 'pw' };
      assert.equal((await hoard(['init'], { env })).code, 0);
      await fsp.writeFile(path.join(dir, 'big.sql'), textLike(40 * 1024 * 1024, 3));
      const marker = `29.${process.pid % 10000}${signal === 'SIGINT' ? 1 : 2}`; // a sleep we can find by its argv
      // The producer writes 40 MiB (several packs), then stalls: the signal arrives mid-backup.
      const child = spawn(
        process.execPath,
        [
          CLI,
          'backup',
          '--stdin-from-command',
          '--',
          'sh',
          '-c',
          `cat ${path.join(dir, 'big.sql')}; sleep ${marker}; true`,
        ],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      await new Promise((r) => setTimeout(r, 2500));
      child.kill(signal);
      const code = await exited;
      assert.equal(code, 130, stderr);
      assert.match(stderr, /interrupted/);
      assert.deepEqual(await fsp.readdir(path.join(repo, 'snapshots')), [], 'no snapshot');
      assert.deepEqual(await fsp.readdir(path.join(repo, 'locks')), [], 'no lock left');
      const left = await new Promise<string>((r) =>
        spawn('pgrep', ['-f', `sleep ${marker}`])
          .stdout.on('data', (d) => r(String(d)))
          .on('end', () => r('')),
      );
      assert.equal(left.trim(), '', 'the command and its children were ended');
      const c = await hoard(['check', '--read-data'], { env });
      assert.equal(c.code, 0, c.stdout + c.stderr);
    });
  }
});
