/** `hoard demo`: the quick start's round trip on the bundled sample (app/demo.ts), printed step by step. */
import { textFlag } from '../args.js';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DemoStep, runDemo } from '../../app/demo.js';
import { type Command, formatBytes } from '../context.js';
import { VERSION } from '../version.js';

/** The line that tells a finished step of the demo. */
function line(s: DemoStep): string {
  switch (s.step) {
    case 'created':
      return `created repository ${s.repository} (password in ${s.passwordFile}: keep a copy elsewhere)`;
    case 'backup':
      return `1. backup: snapshot ${s.snapshot.slice(0, 8)} of ${s.files} files, ${formatBytes(s.bytes)} (${formatBytes(s.stored)} newly stored)`;
    case 'check':
      return `2. check --read-data: ${s.snapshots} snapshot(s), ${s.packsRead} pack(s) read, no errors`;
    case 'restore':
      return `3. restore: ${s.files} files in ${s.target} are identical to the originals`;
    case 'database-backup': {
      const f = s.facts;
      return `4. database backup: snapshot ${s.snapshot.slice(0, 8)} of app.db (online copy, integrity_check ok): ${f.tables.map((t) => `${t.name} ${t.rows} rows`).join(', ')}${f.migrations.map((m) => `; ${m.framework} migrations: ${m.applied} applied, last ${m.last}`).join('')}`;
    }
    case 'database-restore':
      return `5. database restore: ${s.path} passed integrity_check and holds the same tables and row counts`;
  }
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'round trip on the bundled sample: backup, check, restore, compare',
  usage: 'hoard demo [--dir .hoard]',
  flags: { dir: { type: 'string', help: 'folder for the demo repository and password (default .hoard)' } },
  async run(ctx) {
    const dir = path.resolve(ctx.env.cwd, textFlag(ctx.args, 'dir') ?? '.hoard');
    const r = await runDemo(ctx.env, {
      dir,
      password: ctx.env.vars.HOARD_PASSWORD,
      programVersion: `hoard ${VERSION}`,
      report: ctx.report,
      step: (s) => ctx.out(line(s)),
    });
    const self = path.relative(ctx.env.cwd, fileURLToPath(new URL('../main.js', import.meta.url)));
    ctx.out(
      `Try: HOARD_REPOSITORY=${path.relative(ctx.env.cwd, r.repository) || '.'} HOARD_PASSWORD_FILE=${path.relative(ctx.env.cwd, r.passwordFile)} node ${self} snapshots`,
    );
    return 0;
  },
};
