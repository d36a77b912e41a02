/**
 * Keeps the dependency direction of DESIGN.md §3:
 * cli → (server, daemon) → app → (backends, databases, config, notify) → core. Nothing imports cli;
 * the server reads the scheduler's run history (daemon/state) for its metrics;
 * core imports nothing of ours outside core; code outside core imports core only via core/index.ts
 * (tests and the composition root may reach deeper).
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
