/**
 * Keeps the dependency direction of DESIGN.md §3:
 * cli → (server, daemon) → app → (backends, databases, config, notify) → core. Nothing imports cli;
 * the server reads the scheduler's run history (daemon/state) for its metrics;
 * core imports nothing of ours outside core; code outside core imports core only via core/index.ts
 * (tests may reach deeper). The doors (cli, server, daemon) open no repository, take no lock and
 * call no core operation: app/ does that once for every door.
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

/** What a door may call in a repository's name: none of these; a use case in src/app does. */
const DOOR_CALL =
  /\b(withLock|acquireLock|holdLock|withSnapshots|withRepository|openRepository|openFromEnv|openAt|initRepository)\(/g;

/**
 * The values a door may import from core: its vocabulary (errors, redaction) and process set-up,
 * never an operation. Types are free.
 */
const DOOR_CORE_VALUES = new Set([
  'HoardError',
  'isHoardError',
  'redact',
  'redactDeep',
  'KeyCache',
  'limitMallocArenas',
  'readAhead',
]);
const DOORS = ['cli', 'server', 'daemon'];

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
        if (target.startsWith(`core${path.sep}`) && target !== path.join('core', 'index.js'))
          bad.push(`${path.relative(ROOT, file)} imports ${m[1]}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('the doors (cli, server, daemon) open no repository, take no lock and call no core operation', () => {
    const bad: string[] = [];
    for (const file of DOORS.flatMap((layer) => tsFiles(path.join(SRC, layer)))) {
      const text = readFileSync(file, 'utf8');
      const rel = path.relative(ROOT, file);
      for (const m of text.matchAll(DOOR_CALL)) bad.push(`${rel} calls ${m[1]}(); call a use case in src/app instead`);
      for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(\.[^']*\/core\/index\.js)'/g)) {
        const values = m[1]
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x && !x.startsWith('type '));
        for (const v of values)
          if (!DOOR_CORE_VALUES.has(v.split(/\s+as\s+/)[0]))
            bad.push(`${rel} imports ${v} from core; call a use case in src/app instead`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('no module imports itself through others (value imports; types are free)', () => {
    const edges = new Map(
      tsFiles(SRC).map((f) => [
        f,
        [...readFileSync(f, 'utf8').matchAll(/^import (?!type )[^;]*?from '(\.[^']+)'/gms)].map((m) =>
          path.resolve(path.dirname(f), m[1]).replace(/\.js$/, '.ts'),
        ),
      ]),
    );
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, stack: string[]): void => {
      state.set(f, 'open');
      stack.push(f);
      for (const t of edges.get(f) ?? []) {
        if (!edges.has(t)) continue;
        if (state.get(t) === 'open')
          cycles.push(
            stack
              .slice(stack.indexOf(t))
              .map((x) => path.relative(SRC, x))
              .join(' → '),
          );
        else if (!state.has(t)) visit(t, stack);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of edges.keys()) if (!state.has(f)) visit(f, []);
    assert.deepEqual(cycles, []);
  });

  it('core reads no environment, argv, console or exit', () => {
    const bad: string[] = [];
    for (const file of tsFiles(path.join(SRC, 'core'))) {
      const text = readFileSync(file, 'utf8');
      for (const re of [
        /process\.env/,
        /process\.argv/,
        /console\./,
        /process\.exit/,
        /Date\.now\(\)/,
        /new Date\(\)/,
      ]) {
        if (re.test(text)) bad.push(`${path.relative(ROOT, file)} uses ${re.source}`);
      }
    }
    assert.deepEqual(bad, []);
  });
});
