/**
 * Keeps the dependency direction of DESIGN.md §3:
 * cli → (server, daemon) → app → (backends, databases, config, notify) → core. Nothing imports cli;
 * the server reads the scheduler's run history (daemon/state) for its metrics;
 * core imports nothing of ours outside core; code outside core imports core only via core/index.ts
 * (tests may reach deeper). The doors (cli, server, daemon) open no repository and take no lock:
 * app/ does that once for every door; the calls not yet moved are listed in DOOR_DEBT.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = path.join(ROOT, 'src');

const ALLOWED: Record<string, string[]> = {
  core: ['core'],
  backends: ['core', 'backends'],
  databases: ['core', 'databases'],
  config: ['core', 'config'],
  notify: ['core', 'notify'],
  api: ['api'],
  app: ['core', 'backends', 'databases', 'config', 'notify', 'app'],
  daemon: ['core', 'app', 'config', 'daemon'],
  server: ['core', 'app', 'api', 'server', 'daemon'],
  cli: ['core', 'app', 'backends', 'server', 'daemon', 'config', 'cli'],
  'index.ts': ['core', 'app', 'config'], // the package's entry point (openHoard + core)
};

/**
 * CLI commands that still open the repository or take a lock themselves (issue 22: to be moved
 * into app/). The count may only go down: a new call in a door fails, and so does a stale entry.
 */
const DOOR_DEBT: Record<string, number> = {
  'src/cli/commands/backup.ts': 3, // backup PATH…, --stdin, --db without hoard.yaml
  'src/cli/commands/demo.ts': 5,
  'src/cli/commands/maintain.ts': 7, // check, unlock, key, cat
  'src/cli/commands/migrate.ts': 3,
  'src/cli/repo.ts': 1,
};
const DOOR_CALL = /\b(withLock|acquireLock|withSnapshots|openRepository|openRepo)\(/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('layout', () => {
  it('imports follow the dependency direction', () => {
    const bad: string[] = [];
    for (const file of tsFiles(SRC)) {
      const layer = path.relative(SRC, file).split(path.sep)[0];
      const allowed = ALLOWED[layer];
      assert.ok(allowed, `unknown top-level folder src/${layer}: add it to DESIGN.md and this test`);
      for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = path.relative(SRC, path.resolve(path.dirname(file), m[1])).split(path.sep)[0];
        if (!allowed.includes(target)) bad.push(`${path.relative(ROOT, file)} imports ${target} (${m[1]})`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('code outside core reaches core only through core/index.ts', () => {
    const bad: string[] = [];
    for (const file of tsFiles(SRC).filter((f) => !f.startsWith(path.join(SRC, 'core') + path.sep))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from |import\()'(\.[^']+)'/g)) {
        const target = path.relative(SRC, path.resolve(path.dirname(file), m[1]));
        if (target.startsWith(`core${path.sep}`) && target !== path.join('core', 'index.js')) bad.push(`${path.relative(ROOT, file)} imports ${m[1]}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('the doors (cli, server, daemon) open no repository and take no lock beyond the listed debt', () => {
    const found: Record<string, number> = {};
    for (const layer of ['cli', 'server', 'daemon']) {
      for (const file of tsFiles(path.join(SRC, layer))) {
        const n = [...readFileSync(file, 'utf8').matchAll(DOOR_CALL)].length;
        if (n) found[path.relative(ROOT, file)] = n;
      }
    }
    const grown = Object.entries(found).filter(([f, n]) => n > (DOOR_DEBT[f] ?? 0)).map(([f, n]) => `${f}: ${n} calls (allowed ${DOOR_DEBT[f] ?? 0}); call a use case in src/app instead`);
    const stale = Object.entries(DOOR_DEBT).filter(([f, n]) => (found[f] ?? 0) < n).map(([f, n]) => `${f}: ${found[f] ?? 0} calls, DOOR_DEBT says ${n}; lower it`);
    assert.deepEqual([...grown, ...stale], []);
  });

  it('core reads no environment, argv, console or exit', () => {
    const bad: string[] = [];
    for (const file of tsFiles(path.join(SRC, 'core'))) {
      const text = readFileSync(file, 'utf8');
      for (const re of [/process\.env/, /process\.argv/, /console\./, /process\.exit/, /Date\.now\(\)/, /new Date\(\)/]) {
        if (re.test(text)) bad.push(`${path.relative(ROOT, file)} uses ${re.source}`);
      }
    }
    assert.deepEqual(bad, []);
  });
});
