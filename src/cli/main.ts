#!/usr/bin/env node
/** The hoard CLI: composition root. Parses argv, runs one command, maps errors to exit codes. */
import { HoardError, KeyCache, limitMallocArenas, redact, redactDeep } from '../core/index.js';
import { type Env, systemClock } from '../app/environment.js';
import { type Project, loadProject } from '../app/project.js';
import { parseDuration } from '../config/index.js';
import { flagHelp, parseArgs, textFlag } from './args.js';
import { type CommandContext, GLOBAL_FLAGS } from './context.js';
import { EXIT, exitCodeFor, exitOverride } from './exit-codes.js';
import { terminalSafe } from './render.js';
import { createReporter } from './progress.js';
import { VERSION } from './version.js';
import { loadCommand, loadCommands } from './commands.js';

limitMallocArenas(Number(process.env.HOARD_MALLOC_ARENAS ?? 2)); // before any thread allocates: see native/malloc.c

async function usage(): Promise<string> {
  const COMMANDS = await loadCommands();
  return [
    `hoard ${VERSION}: backups of databases and files in a restic-compatible repository`,
    '',
    'Usage: hoard COMMAND [flags]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    '  version    print the version',
    '',
    'Global flags:',
    flagHelp(GLOBAL_FLAGS),
    '',
    'Password: HOARD_PASSWORD, HOARD_PASSWORD_FILE or HOARD_PASSWORD_COMMAND (RESTIC_* too).',
    "Run `hoard COMMAND --help` for a command's flags.",
  ].join('\n');
}

/** Prints an error (redacted: a message may quote a command or URL with a secret in it); returns its exit code. */
function printError(e: unknown, json: boolean): number {
  const he =
    e instanceof HoardError
      ? e
      : new HoardError('internal', `internal error: ${(e as Error)?.message ?? String(e)}`, {
          hint: 'please report this with the command you ran (HOARD_DEBUG=1 shows details)',
        });
  const code = exitOverride(e) ?? exitCodeFor(he.kind);
  if (process.env.HOARD_DEBUG && e instanceof Error) process.stderr.write(`${redact(e.stack ?? '')}\n`);
  const message = redact(he.message),
    hint = he.hint === undefined ? undefined : redact(he.hint);
  if (json)
    process.stderr.write(
      `${JSON.stringify({ message_type: 'error', kind: he.kind, message, hint: hint ?? null, exit_code: code, ...redactDeep(he.context) })}\n`,
    );
  else process.stderr.write(`hoard: ${message}\n${hint ? `  ${hint}\n` : ''}`);
  return code;
}

/**
 * The index of the command word: the first word that is neither a flag nor the value of a global
 * flag before it (`hoard -r REPO snapshots`, as restic accepts); -1 when there is none.
 */
function commandIndex(argv: string[]): number {
  const valued = new Set(
    Object.entries(GLOBAL_FLAGS)
      .filter(([, s]) => s.type !== 'boolean')
      .flatMap(([n, s]) => [`--${n}`, ...(s.short ? [`-${s.short}`] : [])]),
  );
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return -1;
    if (!a.startsWith('-')) return i;
    if (valued.has(a)) i++; // its value is the next word
  }
  return -1;
}

async function main(argv: string[]): Promise<number> {
  const idx = commandIndex(argv);
  const name = idx < 0 ? undefined : argv[idx];
  if (argv.includes('--version') || name === 'version') {
    process.stdout.write(`hoard ${VERSION}\n`);
    return 0;
  }
  if (!name) {
    process.stdout.write(`${await usage()}\n`);
    return argv.length ? 0 : EXIT.failure;
  }
  const cmd = await loadCommand(name);
  const json = argv.includes('--json');
  if (!cmd)
    return printError(
      new HoardError('usage', `unknown command ${name}`, { hint: 'run `hoard --help` for the list' }),
      json,
    );
  const controller = new AbortController();
  const onSignal = () => controller.abort(new HoardError('interrupted', 'interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const specs = { ...GLOBAL_FLAGS, ...cmd.flags };
    const args = parseArgs([...argv.slice(0, idx), ...argv.slice(idx + 1)], specs, cmd.name);
    if (args.flags.help) {
      process.stdout.write(`Usage: ${cmd.usage}\n\n${cmd.summary}\n\nFlags:\n${flagHelp(specs)}\n`);
      return 0;
    }
    const env: Env = {
      vars: process.env,
      clock: systemClock,
      cwd: process.cwd(),
      isTTY: !!process.stdin.isTTY && !!process.stderr.isTTY,
      keys: new KeyCache(),
      limits: {
        uploadKiBs: kibsFlag(args.flags['limit-upload'], 'limit-upload'),
        downloadKiBs: kibsFlag(args.flags['limit-download'], 'limit-download'),
      },
      lockWait: lockWaitFlag(args.flags['retry-lock']),
    };
    const reporter = createReporter({ tty: !!process.stderr.isTTY, json, clock: systemClock });
    let project: Promise<Project> | undefined;
    const ctx: CommandContext = {
      env,
      args,
      json,
      signal: controller.signal,
      out: (l) => process.stdout.write(`${json ? l : terminalSafe(l)}\n`),
      report: reporter,
      project: () =>
        (project ??= loadProject(env, {
          config: textFlag(args, 'config'),
          repo: textFlag(args, 'repo'),
          environment: textFlag(args, 'environment'),
        })),
    };
    try {
      return await cmd.run(ctx);
    } finally {
      reporter.done();
    }
  } catch (e) {
    if (controller.signal.aborted)
      return printError(new HoardError('interrupted', 'interrupted; nothing partial was saved as a snapshot'), json);
    return printError(e, json);
  }
}

/** A --limit-* flag's KiB/s; kind "usage" when it is not a positive whole number. */
function kibsFlag(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new HoardError('usage', `--${name} takes KiB/s as a whole number, not ${String(v)}`, {
      hint: `e.g. --${name} 1024 for 1 MiB/s`,
    });
  return n;
}

/** --retry-lock as milliseconds, with the line printed once while waiting; kind "usage" when it is not a duration. */
function lockWaitFlag(v: unknown): Env['lockWait'] {
  if (v === undefined) return undefined;
  const ms = parseDuration(String(v));
  if (ms === undefined)
    throw new HoardError('usage', `--retry-lock must be a duration such as 30s or 5m, not ${String(v)}`);
  return {
    ms,
    onWait: (h) => process.stderr.write(`hoard: the repository is locked (${h}); waiting up to ${String(v)}\n`),
  };
}

// If the event loop empties while the command still awaits something (a bug: a promise that can
// never settle), say so and fail instead of exiting 0 with the work undone.
let finished = false;
// a reader that goes away (`hoard snapshots | head`) is not an error
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') {
    finished = true;
    process.exit(process.exitCode ?? 0);
  } else throw e;
});
process.on('exit', (code) => {
  if (finished || code !== 0) return;
  process.stderr.write(
    'hoard: internal error: the command stopped before it finished; nothing partial was saved as a snapshot\n',
  );
  process.exitCode = EXIT.failure;
});
main(process.argv.slice(2)).then(
  (code) => {
    finished = true;
    process.exitCode = code;
  },
  (e) => {
    finished = true;
    process.exitCode = printError(e, false);
  },
);
