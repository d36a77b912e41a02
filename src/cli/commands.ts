/**
 * Every command of the CLI, in the order `hoard --help` lists them. A command's module is imported
 * only when it runs, so that a command loads only what it uses (startup is a fixed cost of every
 * backup: all commands at once took about 0.3 s).
 */
import type { Command } from './context.js';

const TABLE: [string, () => Promise<Command>][] = [
  ['init', async () => (await import('./commands/init.js')).initCommand],
  ['backup', async () => (await import('./commands/backup.js')).backupCommand],
  ['list', async () => (await import('./commands/list.js')).listCommand],
  ['info', async () => (await import('./commands/list.js')).infoCommand],
  ['status', async () => (await import('./commands/status.js')).statusCommand],
  ['restore', async () => (await import('./commands/read.js')).restoreCommand],
  ['delete', async () => (await import('./commands/remove.js')).deleteCommand],
  ['cleanup', async () => (await import('./commands/remove.js')).cleanupCommand],
  ['pin', async () => (await import('./commands/remove.js')).pinCommand],
  ['unpin', async () => (await import('./commands/remove.js')).unpinCommand],
  ['confirm', async () => (await import('./commands/confirm.js')).confirmCommand],
  ['verify', async () => (await import('./commands/verify.js')).verifyCommand],
  ['dump', async () => (await import('./commands/read.js')).dumpCommand],
  ['scheduler', async () => (await import('./commands/scheduler.js')).schedulerCommand],
  ['serve', async () => (await import('./commands/serve.js')).serveCommand],
  ['token', async () => (await import('./commands/serve.js')).tokenCommand],
  ['config', async () => (await import('./commands/config.js')).configCommand],
  ['snapshots', async () => (await import('./commands/snapshots.js')).snapshotsCommand],
  ['ls', async () => (await import('./commands/read.js')).lsCommand],
  ['check', async () => (await import('./commands/maintain.js')).checkCommand],
  ['forget', async () => (await import('./commands/remove.js')).forgetCommand],
  ['prune', async () => (await import('./commands/prune.js')).pruneCommand],
  ['key', async () => (await import('./commands/maintain.js')).keyCommand],
  ['unlock', async () => (await import('./commands/maintain.js')).unlockCommand],
  ['migrate', async () => (await import('./commands/migrate.js')).migrateCommand],
  ['wal', async () => (await import('./commands/wal.js')).walCommand],
  ['copy', async () => (await import('./commands/copy.js')).copyCommand],
  ['demo', async () => (await import('./commands/demo.js')).demoCommand],
];

/** Command names, in help order. */
export const COMMAND_NAMES: readonly string[] = TABLE.map(([n]) => n);

/** The command named `name`, or undefined. */
export function loadCommand(name: string): Promise<Command> | undefined {
  return TABLE.find(([n]) => n === name)?.[1]();
}

/** Every command (for `hoard --help`). */
export function loadCommands(): Promise<Command[]> {
  return Promise.all(TABLE.map(([, load]) => load()));
}
