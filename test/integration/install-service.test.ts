/**
 * `hoard scheduler install-service` in a project whose path holds spaces, %, $, quotes, & and a
 * backslash: the systemd unit passes `systemd-analyze verify` (when installed) and, read back by
 * systemd's quoting rules (parsed here), gives exactly the paths and values; the launchd plist,
 * read by a real plist parser (python3's plistlib, when installed; else its escaping is checked
 * exactly), does too. Both are written 0600; a value with a control character is refused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { CLI, hoard, run, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';

const has = (cmd: string, args: string[]) => new Promise<boolean>((r) => execFile(cmd, args, (e) => r(!e)));

/** systemd's specifier expansion for a text made of escaped `%`: `%%` → `%`; any other specifier is an error here. */
function specifiers(s: string): string {
  return s.replace(/%(.)/g, (m, c: string) => {
    if (c === '%') return '%';
    throw new Error(`unescaped specifier ${m} in ${s}`);
  });
}

/** systemd's extract_first_word with EXTRACT_UNQUOTE | EXTRACT_CUNESCAPE, word after word. */
function words(s: string): string[] {
  const out: string[] = [];
  const C: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t', s: ' ' };
  let i = 0;
  for (;;) {
    while (i < s.length && /\s/.test(s[i])) i++;
    if (i >= s.length) return out;
    let w = '',
      quote = '';
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '\\') {
        const e = s[++i];
        if (!(e in C)) throw new Error(`escape \\${e} in ${s}`);
        w += C[e];
      } else if (quote) {
        if (c === quote) quote = '';
        else w += c;
      } else if (c === '"' || c === "'") quote = c;
      else if (/\s/.test(c)) break;
      else w += c;
    }
    assert.equal(quote, '', `unbalanced quote in ${s}`);
    out.push(w);
  }
}

/** ExecStart's variable substitution for words made of escaped `$`: `$$` → `$`; `$NAME` would be substituted. */
function variables(w: string): string {
  return w.replace(/\$(.|$)/g, (m, c: string) => {
    if (c === '$') return '$';
    throw new Error(`unescaped variable ${m} in ${w}`);
  });
}

/** The settings of a unit file: name → raw values (in order). */
function settings(unit: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    assert.ok(!line.endsWith('\\'), `a line continues: ${line}`);
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (kv) m.set(kv[1], [...(m.get(kv[1]) ?? []), kv[2]]);
  }
  return m;
}

async function project(t: import('node:test').TestContext): Promise<{ dir: string; file: string }> {
  const base = await tempDir(t, 'hoard-service-');
  const dir = path.join(base, `my proj 100% $HOME "q" & <x> 'y' a\\b`);
  await mkdir(dir);
  assert.equal((await hoard(['init', '--yes', '--no-backup'], { cwd: dir, env: CLEAN_ENV })).code, 0);
  return { dir, file: path.join(dir, 'hoard.yaml') };
}

const COMMAND = `cat "$HOME/pw file" | tr -d '\\n' # 50% of \\ & <a>`;

describe('scheduler install-service', () => {
  it('systemd: the unit reads back as the exact paths and values, passes systemd-analyze verify, mode 0600', async (t) => {
    const { dir, file } = await project(t);
    const out = path.join(dir, '.hoard', 'unit.service');
    const r = await hoard(['scheduler', 'install-service', '--systemd', '--output', out], {
      cwd: dir,
      env: { ...CLEAN_ENV, HOARD_PASSWORD_COMMAND: COMMAND },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await stat(out)).mode & 0o777, 0o600);
    const unit = await readFile(out, 'utf8');
    const s = settings(unit);
    assert.equal(specifiers(s.get('WorkingDirectory')![0]), dir);
    assert.deepEqual(words(specifiers(s.get('ExecStart')![0])).map(variables), [
      process.execPath,
      CLI,
      'scheduler',
      'start',
      '--config',
      file,
    ]);
    assert.deepEqual(
      s.get('Environment')!.flatMap((e) => words(specifiers(e))),
      [`HOARD_PASSWORD_COMMAND=${COMMAND}`],
    );
    assert.equal(s.get('ExecReload')![0], '/bin/kill -HUP $MAINPID');
    if (!(await has('systemd-analyze', ['--version']))) {
      t.diagnostic('systemd-analyze is not installed: verify skipped');
      return;
    }
    const copy = path.join(path.dirname(dir), 'hoard-verify-test.service');
    await copyFile(out, copy);
    const v = await run('systemd-analyze', ['verify', copy]);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(
      v.stderr
        .split('\n')
        .filter((l) => l.includes('hoard-verify-test'))
        .join('\n'),
      '',
      'systemd has no complaint about the unit',
    );
  });

  it('launchd: the plist parses back as the exact paths and values, mode 0600; --force rewrites an old 0644 file as 0600', async (t) => {
    const { dir, file } = await project(t);
    const out = path.join(dir, '.hoard', 'agent.plist');
    await writeFile(out, 'old');
    await chmod(out, 0o644);
    const env = { ...CLEAN_ENV, HOARD_PASSWORD_COMMAND: COMMAND };
    const refused = await hoard(['scheduler', 'install-service', '--launchd', '--output', out], { cwd: dir, env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /exists; nothing was written/);
    const r = await hoard(['scheduler', 'install-service', '--launchd', '--output', out, '--force'], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await stat(out)).mode & 0o777, 0o600);
    const text = await readFile(out, 'utf8');
    const log = path.join(dir, '.hoard', 'scheduler.log');
    const expected = {
      Label: `dev.hoard.hoard-${path.basename(dir).replace(/[^A-Za-z0-9_.-]/g, '-')}`,
      ProgramArguments: [process.execPath, CLI, 'scheduler', 'start', '--config', file],
      WorkingDirectory: dir,
      RunAtLoad: true,
      KeepAlive: true,
      StandardOutPath: log,
      StandardErrorPath: log,
      EnvironmentVariables: { HOARD_PASSWORD_COMMAND: COMMAND },
    };
    if (await has('python3', ['-c', 'import plistlib'])) {
      const p = await run(
        'python3',
        ['-c', 'import json, plistlib, sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))'],
        { input: text },
      );
      assert.equal(p.code, 0, p.stderr);
      assert.deepEqual(JSON.parse(p.stdout), expected);
    } else {
      t.diagnostic('python3 is not installed: the escaping is checked by hand');
    }
    const entity = (v: string) =>
      v
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&apos;');
    assert.ok(text.includes(`<key>WorkingDirectory</key><string>${entity(dir)}</string>`), text);
    assert.ok(text.includes(`<key>HOARD_PASSWORD_COMMAND</key><string>${entity(COMMAND)}</string>`), text);
    assert.doesNotMatch(
      text.replace(/<\/?[A-Za-z]+( version="1.0")?\/?>|<\?xml[^>]*\?>|<!DOCTYPE[^>]*>/g, ''),
      /[<>"']|&(?!(amp|lt|gt|quot|apos);)/,
      'no raw special character outside the markup',
    );
  });

  it('a value with a newline or another control character is refused in two lines, and nothing is written', async (t) => {
    const { dir } = await project(t);
    for (const [flag, value] of [
      ['--systemd', 'echo a\nExecStartPre=/bin/rm -rf /'],
      ['--launchd', 'x\u001b[31m'],
    ]) {
      const out = path.join(dir, '.hoard', `x${flag}`);
      const r = await hoard(['scheduler', 'install-service', flag, '--output', out], {
        cwd: dir,
        env: { ...CLEAN_ENV, HOARD_PASSWORD_COMMAND: value },
      });
      assert.equal(r.code, 1);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 2, r.stderr);
      assert.match(lines[0], /HOARD_PASSWORD_COMMAND .* holds a control character \(U\+00(0A|1B)\)/);
      assert.equal(
        await stat(out).then(
          () => true,
          () => false,
        ),
        false,
      );
    }
  });
});
