/**
 * The interactive `hoard init`, driven through a real pseudo-terminal (util-linux `script`): each
 * prompt is awaited and answered as a user would type it, including one wrong answer.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { CLI, ROOT, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `cmd` on a pseudo-terminal and answers each prompt (a pattern) with a line. */
function converse(cmd: string, cwd: string, script: [RegExp, string][]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], {
      cwd,
      env: { ...process.env, ...CLEAN_ENV, NO_COLOR: '1', TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let seen = 0; // output already matched by earlier prompts
    let step = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no prompt ${script[step]?.[0]} after:\n${output}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      while (step < script.length) {
        const m = script[step][0].exec(output.slice(seen));
        if (!m) break;
        seen += m.index + m[0].length;
        child.stdin.write(`${script[step][1]}\r`);
        step++;
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
  });
}

describe('interactive init', () => {
  it('asks what to back up, how often and how long, and writes what was answered', async (t) => {
    const dir = await tempDir(t, 'hoard-pty-');
    await mkdir(path.join(dir, 'db'));
    await mkdir(path.join(dir, 'media'));
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'db', 'shop.sqlite3'));
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'scratch.db'));
    await writeFile(path.join(dir, 'media', 'a.png'), 'png');
    const r = await converse(`${sh(process.execPath)} ${sh(CLI)} init`, dir, [
      [/back up sqlite shop \(SQLite file db\/shop\.sqlite3\)\? \(Y\/n\): /, ''],
      [/back up sqlite scratch \(SQLite file scratch\.db\)\? \(Y\/n\): /, 'n'],
      [/Folders to back up too \(comma-separated, empty for none\): /, 'media'],
      [/Environment of this project .*\[dev\]: /, 'staging'],
      [/How often .*\[daily at 02:00\]: /, 'at noon please'],
      [/How often .*\[daily at 02:00\]: /, 'weekly on sunday at 03:30'],
      [/Keep backups for how many days \[60\]: /, ''],
      [/run a first backup now\? \(Y\/n\): /, 'y'],
    ]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /at noon please is not a schedule/, 'a wrong answer is explained and asked again');
    assert.match(r.output, /first backup of shop: snapshot [0-9a-f]{8}/);
    assert.match(r.output, /first backup of files: snapshot [0-9a-f]{8}/);
    const yaml = await readFile(path.join(dir, 'hoard.yaml'), 'utf8');
    assert.match(yaml, /^environment: staging$/m);
    assert.match(yaml, /path: db\/shop\.sqlite3/);
    assert.doesNotMatch(yaml, /scratch/, 'the declined database is not configured');
    assert.match(yaml, /paths: \[media\]/);
    assert.match(yaml, /schedule: "weekly on sunday at 03:30"/);
    assert.match(yaml, /kind: weekly/);
    assert.match(yaml, /retention_days: 60/, "staging's default was offered and taken");
    assert.equal((await stat(path.join(dir, '.hoard', 'password'))).mode & 0o777, 0o600);
  });

  it('ending the input mid-way changes nothing', async (t) => {
    const dir = await tempDir(t, 'hoard-pty-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    const r = await converse(`${sh(process.execPath)} ${sh(CLI)} init`, dir, [[/\(Y\/n\): /, '\u0004']]);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /the questions were not answered \(input ended\); nothing was changed/);
    await assert.rejects(stat(path.join(dir, 'hoard.yaml')));
  });
});
