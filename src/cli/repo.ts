/** Opening the repository in force for a command (flags, HOARD_*, hoard.yaml). */
import type { Repository } from '../core/index.js';
import { type OpenOptions, openFromEnv } from '../app/repository-access.js';
import type { CommandContext } from './context.js';

/** Opens the command's repository; the index is loaded unless `index: false`. */
export async function openRepo(ctx: CommandContext, o: Omit<OpenOptions, 'project'> = {}): Promise<Repository> {
  return openFromEnv(ctx.env, { signal: ctx.signal, ...o, project: await ctx.project() });
}
