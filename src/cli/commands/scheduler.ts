/** `hoard scheduler start [--detach] | stop | status | install-service`: the daemon that runs hoard.yaml's schedules. */
import { textFlag } from '../args.js';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HoardError } from '../../core/index.js';
import { identity, lockOwner } from '../../app/environment.js';
import { loadProject } from '../../app/project.js';
import type { Project } from '../../app/project.js';
import { type DaemonOptions, runDaemon } from '../../daemon/run.js';
import { createScheduler } from '../../daemon/scheduler.js';
import { openState, readDaemon } from '../../daemon/state.js';
import { tasksFrom } from '../../daemon/tasks.js';
import type { Command, CommandContext } from '../context.js';
import { relative, table, when } from '../render.js';
import { type ServiceSpec, launchdPlist, systemdUnit } from './service-files.js';
import { VERSION } from '../version.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

async function project(ctx: CommandContext): Promise<Project> {
  const p = await ctx.project();
  if (!p.loaded)
    throw new HoardError('config', 'the scheduler needs a hoard.yaml here or in a parent folder', {
      hint: 'run `hoard init`, or pass --config FILE',
    });
  return p;
}

const stamp = () => new Date().toISOString().slice(0, 19).replace('T', ' ');

async function start(ctx: CommandContext): Promise<number> {
  const p = await project(ctx);
  const dir = path.join(p.dir, '.hoard');
  if (ctx.args.flags.detach) {
    const other = readDaemon(dir);
    if (other && lockOwner(ctx.env).isProcessAlive(other.pid))
      throw new HoardError('locked', `a scheduler already runs for this project (pid ${other.pid})`, {
        hint: 'stop it with `hoard scheduler stop`',
      });
    const log = openSync(path.join(dir, 'scheduler.log'), 'a', 0o600);
    const child = spawn(process.execPath, [MAIN, 'scheduler', 'start', '--config', p.loaded!.file], {
      cwd: p.dir,
      detached: true,
      stdio: ['ignore', log, log],
      env: process.env,
    });
    child.unref();
    closeSync(log);
    for (let i = 0; i < 100 && readDaemon(dir)?.pid !== child.pid; i++) await new Promise((r) => setTimeout(r, 50));
    if (readDaemon(dir)?.pid !== child.pid)
      throw new HoardError('internal', 'the scheduler did not start', {
        hint: `see ${path.join(dir, 'scheduler.log')}`,
      });
    ctx.out(
      `scheduler started in the background (pid ${child.pid}); log: ${path.relative(ctx.env.cwd, path.join(dir, 'scheduler.log'))}`,
    );
    return 0;
  }
  await runDaemon(p, daemonOptions(ctx, p));
  return 0;
}

/** What the daemon needs from the CLI (also used by `hoard serve --scheduler`). */
export function daemonOptions(ctx: CommandContext, p: Project): DaemonOptions {
  const who = identity(ctx.env);
  const retry = ctx.env.vars.HOARD_SCHEDULER_RETRY_MS?.split(',')
    .map(Number)
    .filter((n) => n > 0);
  return {
    env: ctx.env,
    load: () => loadProject(ctx.env, { config: p.loaded!.file }),
    isProcessAlive: lockOwner(ctx.env).isProcessAlive,
    info: {
      hostname: who.hostname,
      username: who.username,
      uid: who.uid,
      gid: who.gid,
      programVersion: `hoard ${VERSION}`,
    },
    log: (l) => process.stdout.write(`${stamp()} ${l}\n`),
    retryDelaysMs: retry?.length ? retry : undefined,
    pollMs: Number(ctx.env.vars.HOARD_SCHEDULER_POLL_MS) || undefined,
  };
}

async function stop(ctx: CommandContext): Promise<number> {
  const p = await project(ctx);
  const dir = path.join(p.dir, '.hoard');
  const d = readDaemon(dir);
  const alive = lockOwner(ctx.env).isProcessAlive;
  if (!d || !alive(d.pid)) {
    ctx.out('no scheduler runs for this project');
    return 0;
  }
  process.kill(d.pid, 'SIGTERM');
  for (let i = 0; i < 1200 && alive(d.pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (alive(d.pid))
    throw new HoardError('internal', `the scheduler (pid ${d.pid}) is still finishing its work after 60 s`, {
      hint: `wait, or send SIGTERM again to abort it: kill ${d.pid}`,
    });
  ctx.out(`scheduler stopped (pid ${d.pid})`);
  return 0;
}

async function status(ctx: CommandContext): Promise<number> {
  const p = await project(ctx);
  const dir = path.join(p.dir, '.hoard');
  const d = readDaemon(dir);
  const running = !!d && lockOwner(ctx.env).isProcessAlive(d.pid);
  const state = openState(dir);
  try {
    const who = identity(ctx.env);
    const tasks = tasksFrom(p, {
      env: ctx.env,
      info: { hostname: who.hostname, username: who.username, uid: who.uid, gid: who.gid, programVersion: '' },
      isProcessAlive: () => true,
      log: () => {},
    });
    const s = createScheduler(
      tasks.map((t) => ({ ...t, onChange: undefined })),
      { clock: ctx.env.clock, sleep: async () => {}, state, log: () => {} },
    );
    const rows = s.status();
    const recent = state.recent(20);
    const now = ctx.env.clock.now();
    if (ctx.json) {
      ctx.out(
        JSON.stringify({
          running,
          pid: running ? d!.pid : null,
          started: running ? new Date(d!.started).toISOString() : null,
          uptime_s: running ? Math.round((now - d!.started) / 1000) : null,
          tasks: rows,
          recent: recent.map((r) => ({
            ...r,
            started: new Date(r.started).toISOString(),
            ended: r.ended ? new Date(r.ended).toISOString() : null,
          })),
        }),
      );
      return 0;
    }
    ctx.out(
      running
        ? `scheduler running: pid ${d!.pid}, up ${relative(d!.started, now).replace(' ago', '')}`
        : 'scheduler not running (start it with `hoard scheduler start`)',
    );
    if (rows.length)
      for (const l of table(
        ['Task', 'Next run', 'Last result', 'Last started', 'Error'],
        rows.map((r) => [
          r.task,
          r.next_run
            ? Date.parse(r.next_run) <= now
              ? 'due now'
              : relative(Date.parse(r.next_run), now)
            : tasks.find((t) => t.name === r.task)?.schedule
              ? '-'
              : 'on change',
          r.last?.result ?? '-',
          r.last ? when(Date.parse(r.last.started)) : '-',
          r.last?.error ?? '',
        ]),
      ))
        ctx.out(l);
    else ctx.out('no scheduled tasks: give jobs a schedule or on_change in hoard.yaml');
    return 0;
  } finally {
    state.close();
  }
}

/** `'…'` for a shell when the word needs it (the printed install commands are meant to be pasted). */
const sh = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

/** Writes a systemd unit or launchd plist (mode 0600: it may carry a password variable) and says how to install it. */
async function installService(ctx: CommandContext): Promise<number> {
  const p = await project(ctx);
  const launchd = ctx.args.flags.launchd === true || (ctx.args.flags.systemd !== true && os.platform() === 'darwin');
  const name = `hoard-${path.basename(p.dir).replace(/[^A-Za-z0-9_.-]/g, '-')}`;
  const spec: ServiceSpec = {
    name,
    dir: p.dir,
    argv: [process.execPath, MAIN, 'scheduler', 'start', '--config', p.loaded!.file],
    log: path.join(p.dir, '.hoard', 'scheduler.log'),
    env: ['HOARD_PASSWORD_FILE', 'HOARD_PASSWORD_COMMAND']
      .filter((k) => ctx.env.vars[k])
      .map((k) => [k, ctx.env.vars[k]!]),
  };
  const text = launchd ? launchdPlist(spec) : systemdUnit(spec);
  const out =
    textFlag(ctx.args, 'output') ?? path.join(p.dir, '.hoard', launchd ? `dev.hoard.${name}.plist` : `${name}.service`);
  if (existsSync(out)) {
    if (ctx.args.flags.force !== true)
      throw new HoardError('usage', `${out} exists; nothing was written`, { hint: 'pass --force to replace it' });
    rmSync(out); // written anew, so that the file is 0600 from its first byte whatever the old one's mode was
  }
  writeFileSync(out, text, { mode: 0o600, flag: 'wx' });
  ctx.out(`wrote ${out}`);
  ctx.out(
    launchd
      ? `install it: cp ${sh(out)} ~/Library/LaunchAgents/ && launchctl load ~/Library/LaunchAgents/${sh(path.basename(out))}`
      : `install it: mkdir -p ~/.config/systemd/user && cp ${sh(out)} ~/.config/systemd/user/ && systemctl --user daemon-reload && systemctl --user enable --now ${sh(path.basename(out))}`,
  );
  if (!spec.env.length)
    ctx.out("note: the repository password comes from hoard.yaml's reference; make sure the service can read it");
  return 0;
}

export const schedulerCommand: Command = {
  name: 'scheduler',
  summary: "run hoard.yaml's schedules: scheduler start [--detach] | stop | status | install-service",
  usage:
    'hoard scheduler start [--detach] | stop | status [--json] | install-service [--systemd|--launchd] ' +
    '[--output FILE] [--force]',
  flags: {
    detach: { type: 'boolean', help: 'start: run in the background (log in .hoard/scheduler.log)' },
    systemd: { type: 'boolean', help: 'install-service: write a systemd unit (default on Linux)' },
    launchd: { type: 'boolean', help: 'install-service: write a launchd plist (default on macOS)' },
    output: { type: 'string', help: 'install-service: where to write it' },
    force: { type: 'boolean', help: 'install-service: replace an existing file' },
  },
  run(ctx) {
    switch (ctx.args.positionals[0]) {
      case 'start':
        return start(ctx);
      case 'stop':
        return stop(ctx);
      case 'status':
        return status(ctx);
      case 'install-service':
        return installService(ctx);
      default:
        throw new HoardError('usage', `unknown scheduler command ${ctx.args.positionals[0] ?? ''}`.trim(), {
          hint: 'use scheduler start, stop, status or install-service',
        });
    }
  },
};
