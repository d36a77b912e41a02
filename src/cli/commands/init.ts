import { HoardError } from '../../core/errors.js';
import { openBackend } from '../../backends/index.js';
import { initRepository } from '../../core/repository/open.js';
import { identity, repositoryUrl, resolvePassword } from '../../app/environment.js';
import type { Command } from '../context.js';

export const initCommand: Command = {
  name: 'init', summary: 'create a new repository', usage: 'hoard init [--repo URL] [--repository-version 1|2]',
  flags: { 'repository-version': { type: 'string', help: 'format version: 2 (default) or 1' } },
  async run(ctx) {
    const v = String(ctx.args.flags['repository-version'] ?? '2');
    if (v !== '1' && v !== '2' && v !== 'stable' && v !== 'latest') throw usage(`unknown repository version ${v}`);
    const backend = openBackend(repositoryUrl(ctx.env, ctx.args.flags.repo as string | undefined));
    const password = await resolvePassword(ctx.env, { confirm: true });
    const repo = await initRepository(backend, password, identity(ctx.env), { version: v === '1' ? 1 : 2 });
    if (ctx.json) ctx.out(JSON.stringify({ message_type: 'initialized', id: repo.config.id, repository: backend.location, version: repo.version }));
    else {
      ctx.out(`created hoard repository ${repo.config.id.slice(0, 10)} at ${backend.location}`);
      ctx.out('Keep the password safe: without it the data cannot be read back.');
    }
    return 0;
  },
};

function usage(m: string): HoardError {
  return new HoardError('usage', m, { hint: 'use --repository-version 2 (or 1)' });
}
