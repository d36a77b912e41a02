/**
 * `hoard init`: with --repo or HOARD_REPOSITORY, create a bare repository (as `restic init` does);
 * otherwise set up the project in the current folder: detect databases, ask (or take flags and
 * defaults), write hoard.yaml, create .hoard/repo, back up once and check.
 */
import { listFlag, textFlag } from '../args.js';
import * as path from 'node:path';
import { HoardError } from '../../core/index.js';
import { type Candidate, detectSources } from '../../app/detect.js';
import { type InitRequest, type InitResult, initBareRepository, initProject } from '../../app/init-project.js';
import { ENVIRONMENT_DEFAULTS, type SourceConfig, parseSchedule } from '../../config/index.js';
import type { Command, CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { type Prompter, createPrompter, interactive } from '../prompt.js';
import { size } from '../render.js';
import { backupOptions } from './database.js';

const DEFAULT_SCHEDULE = 'daily at 02:00';

async function bareInit(ctx: CommandContext): Promise<number> {
  const v = textFlag(ctx.args, 'repository-version') ?? '2';
  if (v !== '1' && v !== '2' && v !== 'stable' && v !== 'latest')
    throw new HoardError('usage', `unknown repository version ${v}`, { hint: 'use --repository-version 2 (or 1)' });
  // --repo may name a repository of hoard.yaml (its URL, backend settings and password) or be a URL
  const r = await initBareRepository(ctx.env, await ctx.project(), { version: v === '1' ? 1 : 2 });
  if (ctx.json)
    ctx.out(JSON.stringify({ message_type: 'initialized', id: r.id, repository: r.location, version: r.version }));
  else {
    ctx.out(`created hoard repository ${r.id.slice(0, 10)} at ${r.location}`);
    ctx.out('Keep the password safe: without it the data cannot be read back.');
  }
  return 0;
}

function retention(v: string, env: string): number {
  const d = v === '' ? (ENVIRONMENT_DEFAULTS[env]?.retention_days ?? 30) : Number(v);
  if (!Number.isInteger(d) || d < 1 || d > 36500)
    throw new HoardError('usage', `keep backups for a number of days (1 or more), not ${v}`);
  return d;
}

function schedule(v: string): string {
  const p = parseSchedule(v);
  if (!p.ok) throw new HoardError('usage', p.error, { hint: 'e.g. --schedule "daily at 02:00"' });
  return v;
}

function toSource(c: Candidate): SourceConfig {
  return c.type === 'sqlite' ? { type: 'sqlite', path: c.path! } : { type: c.type, url: c.url! };
}

/** The answers from flags and defaults (--yes, or no terminal). */
function fromFlags(ctx: CommandContext, found: Candidate[]): Omit<InitRequest, 'dir'> {
  const f = ctx.args.flags;
  const want = listFlag(ctx.args, 'source');
  for (const w of want ?? []) {
    if (!found.some((c) => c.name === w))
      throw new HoardError('usage', `--source ${w}: nothing of that name was detected`, {
        hint: found.length
          ? `detected: ${found.map((c) => c.name).join(', ')}`
          : 'nothing was detected; add sources to hoard.yaml by hand',
      });
  }
  const chosen = found.filter((c) => !want || want.includes(c.name));
  const environment = textFlag(ctx.args, 'environment') ?? 'dev';
  return assemble(
    chosen,
    listFlag(ctx.args, 'files') ?? [],
    environment,
    schedule(textFlag(ctx.args, 'schedule') ?? DEFAULT_SCHEDULE),
    retention(textFlag(ctx.args, 'retention') ?? '', environment),
    f['no-backup'] !== true,
  );
}

function assemble(
  chosen: Candidate[],
  files: string[],
  environment: string,
  sched: string,
  days: number,
  firstBackup: boolean,
): Omit<InitRequest, 'dir'> {
  const sources: Record<string, SourceConfig> = {};
  const notes: Record<string, string> = {};
  for (const c of chosen) {
    sources[c.name] = toSource(c);
    notes[c.name] = `found: ${c.found}${c.todo ? `; to do: ${c.todo}` : ''}`;
  }
  if (files.length) sources[sources.files ? 'app-files' : 'files'] = { type: 'files', paths: files };
  const type = parseSchedule(sched).ok
    ? (parseSchedule(sched) as { schedule: { type: string } }).schedule.type
    : 'daily';
  const kind = type === 'daily' || type === 'weekly' ? type : 'scheduled';
  return { environment, sources, notes, job: { name: kind, schedule: sched, kind, retention_days: days }, firstBackup };
}

/** The questions, on a terminal. */
async function fromPrompts(ctx: CommandContext, found: Candidate[], q: Prompter): Promise<Omit<InitRequest, 'dir'>> {
  const f = ctx.args.flags;
  const chosen: Candidate[] = [];
  if (found.length) process.stderr.write(`Found ${found.length} database${found.length === 1 ? '' : 's'}:\n`);
  for (const c of found) if (await q.yes(`  back up ${c.type} ${c.name} (${c.found})?`, true)) chosen.push(c);
  const filesAnswer = await q.ask(
    'Folders to back up too (comma-separated, empty for none)',
    (listFlag(ctx.args, 'files') ?? []).join(','),
  );
  const files = filesAnswer
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const environment = await q.ask(
    'Environment of this project (dev, staging, production or any name)',
    textFlag(ctx.args, 'environment') ?? 'dev',
  );
  let sched = '';
  for (;;) {
    const a = await q.ask(
      'How often ("daily at 02:00", "weekly on sunday at 03:00", "every 6 hours" or cron)',
      textFlag(ctx.args, 'schedule') ?? DEFAULT_SCHEDULE,
    );
    const p = parseSchedule(a);
    if (p.ok) {
      sched = a;
      break;
    }
    process.stderr.write(`  ${p.error}\n`);
  }
  let days = 0;
  for (;;) {
    try {
      days = retention(
        await q.ask(
          'Keep backups for how many days',
          String(textFlag(ctx.args, 'retention') ?? ENVIRONMENT_DEFAULTS[environment]?.retention_days ?? 30),
        ),
        environment,
      );
      break;
    } catch (e) {
      process.stderr.write(`  ${(e as Error).message}\n`);
    }
  }
  const first =
    f['no-backup'] === true
      ? false
      : await q.yes('Create the repository in .hoard/repo and run a first backup now?', true);
  return assemble(chosen, files, environment, sched, days, first);
}

function report(ctx: CommandContext, r: InitResult, req: Omit<InitRequest, 'dir'>, found: Candidate[]): number {
  const failed = r.backups.filter((b) => !b.ok && !b.skipped);
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        message_type: 'initialized',
        status: failed.length ? 'partial' : 'success',
        config: r.configFile,
        repository: r.repository,
        password_file: r.passwordFile,
        created_repository: r.createdRepository,
        detected: found,
        sources: Object.keys(req.sources),
        backups: r.backups,
        check: r.check,
        archiving: r.archiving,
      }),
    );
    return failed.length ? EXIT.failure : 0;
  }
  const rel = (p: string) => path.relative(ctx.env.cwd, p) || '.';
  ctx.out(
    `wrote ${rel(r.configFile)}: ${Object.keys(req.sources).length} source(s)${req.job ? `, job "${req.job.name}" ${req.job.schedule}, kept ${req.job.retention_days} days` : ''}, environment ${req.environment}`,
  );
  ctx.out(
    `${r.createdRepository ? 'created' : 'using'} the repository ${rel(r.repository.replace(/^local:/, ''))}; its password is in ${rel(r.passwordFile)} (mode 0600)`,
  );
  ctx.out('  KEEP A COPY OF THAT PASSWORD FILE SOMEWHERE ELSE: without it these backups cannot be read.');
  if (r.gitignored) ctx.out('added .hoard/ to .gitignore');
  for (const b of r.backups) {
    if (b.ok) ctx.out(`first backup of ${b.source}: snapshot ${b.snapshot_id!.slice(0, 8)} (${size(b.size)})`);
    else
      ctx.out(
        `first backup of ${b.source} ${b.skipped ? 'skipped' : 'FAILED'}: ${b.error}${b.hint ? `\n  ${b.hint}` : ''}`,
      );
  }
  if (r.check)
    ctx.out(
      r.check.errors.length
        ? `check: ${r.check.errors.length} error(s): ${r.check.errors[0]}`
        : `check: ${r.check.snapshots} snapshot(s), no errors`,
    );
  for (const c of found.filter((x) => x.todo && req.sources[x.name])) ctx.out(`to do: ${c.todo}`);
  for (const a of r.archiving) ctx.out(`point-in-time recovery of ${a.source}: ${a.advice}`);
  ctx.out('');
  ctx.out('Next:');
  ctx.out('  hoard status                   each source: last backup, age, next run');
  ctx.out('  hoard backup                   back up every source now (or: hoard backup NAME)');
  ctx.out('  hoard list                     the backups');
  ctx.out('  hoard restore --latest --source NAME --dry-run');
  ctx.out(`  edit ${rel(r.configFile)} to add sources, jobs and retention (docs/configuration.md)`);
  return failed.length || r.check?.errors.length ? EXIT.failure : 0;
}

async function projectInit(ctx: CommandContext): Promise<number> {
  const dir = ctx.env.cwd;
  const found = await detectSources(dir, ctx.env.vars);
  const ask = interactive(ctx) && ctx.args.flags.yes !== true;
  let req: Omit<InitRequest, 'dir'>;
  if (ask) {
    const q = createPrompter();
    try {
      req = await fromPrompts(ctx, found, q);
    } finally {
      q.close();
    }
  } else {
    if (!ctx.json && ctx.args.flags.yes !== true)
      process.stderr.write('hoard: not a terminal: taking the defaults and flags (see `hoard init --help`)\n');
    req = fromFlags(ctx, found);
  }
  const r = await initProject(
    ctx.env,
    { ...req, dir },
    { ...backupOptions(ctx, { dryRun: false }), signal: ctx.signal },
  );
  return report(ctx, r, req, found);
}

export const initCommand: Command = {
  name: 'init',
  summary:
    'set up hoard for this project (hoard.yaml, repository, first backup), or create a bare repository with --repo',
  usage:
    'hoard init [--yes] [--source NAME]... [--files PATH]... [--environment E] [--schedule S] [--retention ' +
    'DAYS] [--no-backup]\n       hoard init --repo URL [--repository-version 1|2]   (a bare repository, ' +
    'like restic init)',
  flags: {
    yes: { type: 'boolean', short: 'y', help: 'ask nothing: back up every detected database, with the defaults' },
    source: { type: 'list', help: 'back up only this detected database (repeatable; default: all)' },
    files: { type: 'list', help: 'also back up this folder (repeatable)' },
    environment: { type: 'string', help: "the project's environment: dev (default), staging, production or any name" },
    schedule: {
      type: 'string',
      help: `how often: "${DEFAULT_SCHEDULE}" (default), "weekly on sunday at 03:00", "every 6 hours", cron`,
    },
    retention: {
      type: 'string',
      help: "keep scheduled backups DAYS days (default: the environment's: dev 30, staging 60, production 90)",
    },
    'no-backup': { type: 'boolean', help: 'write the files and the repository, but take no first backup' },
    'repository-version': { type: 'string', help: 'with --repo: format version 2 (default) or 1' },
  },
  run(ctx) {
    const bare =
      ctx.args.flags.repo !== undefined || !!(ctx.env.vars.HOARD_REPOSITORY || ctx.env.vars.RESTIC_REPOSITORY);
    return bare ? bareInit(ctx) : projectInit(ctx);
  },
};
