/** `hoard serve` (the REST API on 127.0.0.1 by default) and `hoard token new` (a bearer token and its hash for hoard.yaml). */
import { textFlag } from '../args.js';
import { createHash, randomBytes } from 'node:crypto';
import { HoardError } from '../../core/index.js';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import * as path from 'node:path';
import type { Project } from '../../app/project.js';
import { runDaemon } from '../../daemon/run.js';
import { SCOPES, type Scope } from '../../server/auth.js';
import { daemonOptions } from './scheduler.js';
import type { Command } from '../context.js';
import { VERSION } from '../version.js';

/** The certificate and key of server.tls, read from files relative to hoard.yaml's folder. */
async function tlsFiles(p: Project): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  const tls = p.config.server?.tls;
  if (!tls) return undefined;
  const read = async (what: string, file: string) => {
    const full = path.resolve(p.dir, file);
    try {
      return await readFile(full);
    } catch (e) {
      throw new HoardError(
        'config',
        `server.tls.${what}: cannot read ${full} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        { hint: 'point it at a PEM file (paths are relative to hoard.yaml)' },
      );
    }
  };
  return { cert: await read('cert', tls.cert), key: await read('key', tls.key) };
}

/** True for an address only this machine can reach: 127.0.0.0/8, ::1 (also as ::ffff:127.x) and localhost. */
function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.replace(/^::ffff:/, '');
  return isIP(v4) === 4 && v4.startsWith('127.');
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve the REST API (bearer tokens from hoard.yaml server.tokens)',
  usage: 'hoard serve [--listen HOST:PORT] [--scheduler]',
  flags: {
    listen: { type: 'string', help: 'address to listen on (default: server.listen, else 127.0.0.1:7420)' },
    scheduler: { type: 'boolean', help: "also run the scheduler (hoard.yaml's schedules) in this process" },
  },
  async run(ctx) {
    const p = await ctx.project();
    if (!p.loaded)
      throw new HoardError('config', 'hoard serve needs a hoard.yaml here or in a parent folder', {
        hint: 'run `hoard init`, or pass --config FILE',
      });
    const tokens = p.config.server?.tokens ?? [];
    if (!tokens.length)
      throw new HoardError('config', `${p.loaded.file} has no server.tokens: every route but /healthz needs one`, {
        hint: 'create one with `hoard token new --name ci --scopes read` and add the line it prints',
      });
    const listen = textFlag(ctx.args, 'listen') ?? p.config.server?.listen ?? '127.0.0.1:7420';
    const m = /^(.+):(\d{1,5})$/.exec(listen);
    if (!m) throw new HoardError('usage', `--listen must be HOST:PORT, not ${listen}`);
    const tls = await tlsFiles(p);
    // the scheduler first: it refuses to start when another one runs for this project
    const daemon = ctx.args.flags.scheduler ? runDaemon(p, daemonOptions(ctx, p)) : undefined;
    if (daemon) await Promise.race([daemon, new Promise((r) => setImmediate(r))]);
    const abort = new AbortController();
    // the server (Fastify) is loaded by the command that serves, not by every command
    const { buildServer } = await import('../../server/app.js');
    const app = await buildServer({
      project: p,
      env: ctx.env,
      tokens: tokens as never,
      version: VERSION,
      maxFailuresPerMinute: p.config.server?.max_failures_per_minute,
      maxTasks: p.config.server?.max_tasks,
      tls,
      abort: abort.signal,
    });
    const host = m[1].replace(/^\[|\]$/g, '');
    const addr = await app.listen({ host, port: Number(m[2]) });
    ctx.out(
      `hoard API listening on ${addr} (${tokens.length} token(s)${tls ? ', TLS' : ''}${daemon ? ', with the scheduler' : ''})`,
    );
    // tokens and backup data would cross the network in clear text
    if (!tls && !isLoopback(host))
      process.stderr.write(
        `hoard: warning: serving on ${host} without TLS: tokens and data cross the network unencrypted; set server.tls (cert and key) in hoard.yaml, or listen on 127.0.0.1 or ::1\n`,
      );
    // the first signal stops new requests and lets running tasks finish; a second one aborts them
    await new Promise<void>((resolve) => {
      let signals = 0;
      const stop = () => {
        if (++signals === 1) {
          ctx.out('stopping: running tasks may finish (signal again to abort them)');
          void app.close().then(resolve);
        } else abort.abort();
      };
      // (the CLI's own handler also aborts ctx.signal on the first signal: counting here keeps one meaning)
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
    await daemon;
    return 0;
  },
};

export const tokenCommand: Command = {
  name: 'token',
  summary: 'create an API token: token new --name NAME --scopes read,backup',
  usage: 'hoard token new --name NAME --scopes read[,download,backup,restore,admin]',
  flags: {
    name: { type: 'string', help: 'a name for the token (shown in the audit log)' },
    scopes: { type: 'string', help: 'comma-separated: read, download, backup, restore, admin' },
  },
  async run(ctx) {
    if (ctx.args.positionals[0] !== 'new')
      throw new HoardError('usage', 'use `hoard token new --name NAME --scopes read`');
    const name = textFlag(ctx.args, 'name');
    if (!name || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name))
      throw new HoardError('usage', '--name must be a name (letters, digits, . _ -)');
    const scopes = (textFlag(ctx.args, 'scopes') ?? 'read').split(',').map((s) => s.trim()) as Scope[];
    for (const s of scopes)
      if (!(SCOPES as readonly string[]).includes(s))
        throw new HoardError('usage', `unknown scope ${s}`, { hint: `use ${SCOPES.join(', ')}` });
    const token = `hoard_${randomBytes(24).toString('base64url')}`;
    const hash = `sha256:${createHash('sha256').update(token).digest('hex')}`;
    if (ctx.json) {
      ctx.out(JSON.stringify({ name, scopes, token, hash }));
      return 0;
    }
    ctx.out(`token (shown once; give it to the client): ${token}`);
    ctx.out('add to hoard.yaml under server: tokens:');
    ctx.out(`    - { name: ${name}, hash: "${hash}", scopes: [${scopes.join(', ')}] }`);
    return 0;
  },
};
