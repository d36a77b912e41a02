/**
 * The documentation is executable: every hoard.yaml example in the README and docs/ loads, and the
 * README's library example runs as written against a real project.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseConfig } from '../../src/config/parse.js';
import { ROOT, hoard, run, tempDir } from '../helpers/services.js';
import { CLEAN_ENV } from '../helpers/project.js';

/** The ```yaml blocks of a Markdown file: every one is a hoard.yaml example (other YAML is fenced as ```text). */
function configBlocks(md: string): string[] {
  return [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe('documentation', () => {
  it('every YAML example in README.md and docs/ is a valid hoard.yaml', async () => {
    const files = [
      'README.md',
      ...(await readdir(path.join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
    ];
    const counts: Record<string, number> = {};
    for (const f of files) {
      const blocks = configBlocks(await readFile(path.join(ROOT, f), 'utf8'));
      counts[f] = blocks.length;
      blocks.forEach((b, i) =>
        assert.doesNotThrow(() => parseConfig(b, `${f} example ${i + 1}`), `${f} example ${i + 1}`),
      );
    }
    assert.ok(counts['README.md'] >= 1, 'the README shows a hoard.yaml');
    assert.ok(counts['docs/configuration.md'] >= 2, 'docs/configuration.md shows its examples');
    assert.ok(counts['docs/design.md'] >= 1, "the design notes' sketch is checked too");
  });

  it('the README library example runs as written', async (t) => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const code = /<!-- library-example -->\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(code, 'the README has the marked example');
    const dir = await tempDir(t, 'hoard-lib-');
    await copyFile(path.join(ROOT, 'sample', 'app.db'), path.join(dir, 'app.db'));
    const init = await hoard(['init', '--yes'], { cwd: dir, env: CLEAN_ENV });
    assert.equal(init.code, 0, init.stderr);
    // inside the package, so that `import 'hoard'` resolves to this package's exports
    const script = path.join(ROOT, 'dist', `readme-example-${process.pid}.mjs`);
    await writeFile(script, code!);
    t.after(() => rm(script, { force: true }));
    const r = await run(process.execPath, [script], { cwd: dir, env: CLEAN_ENV });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^app: [0-9a-f]{8}, 81920 bytes$/m);
    assert.match(r.stdout, /^1 0 1 sqlite:.*app\.db$/m);
  });
});
