/** Every command of the CLI, in the order `hoard --help` lists them. */
import type { Command } from './context.js';
import { initCommand } from './commands/init.js';
import { backupCommand } from './commands/backup.js';
import { snapshotsCommand } from './commands/snapshots.js';
import { dumpCommand, lsCommand, restoreCommand } from './commands/read.js';
import { checkCommand, keyCommand, unlockCommand } from './commands/maintain.js';
import { demoCommand } from './commands/demo.js';
import { migrateCommand } from './commands/migrate.js';
import { infoCommand, listCommand } from './commands/list.js';
import { statusCommand } from './commands/status.js';
import { configCommand } from './commands/config.js';
import { pruneCommand } from './commands/prune.js';
import { verifyCommand } from './commands/verify.js';
import { schedulerCommand } from './commands/scheduler.js';
import { serveCommand, tokenCommand } from './commands/serve.js';
import { cleanupCommand, deleteCommand, forgetCommand, pinCommand, unpinCommand } from './commands/remove.js';
import { copyCommand } from './commands/copy.js';

export const COMMANDS: Command[] = [initCommand, backupCommand, listCommand, infoCommand, statusCommand, restoreCommand, deleteCommand, cleanupCommand, pinCommand, unpinCommand, verifyCommand, dumpCommand, schedulerCommand, serveCommand, tokenCommand, configCommand,
  snapshotsCommand, lsCommand, checkCommand, forgetCommand, pruneCommand, keyCommand, unlockCommand, migrateCommand, copyCommand, demoCommand];
