/** `hoard confirm ID --by NAME [--note TEXT]`: record who verified the change a pre-change backup preceded. */
import { confirmBackup } from '../../app/confirm.js';
import { textFlag } from '../args.js';
import type { Command } from '../context.js';

export const confirmCommand: Command = {
  name: 'confirm',
  summary: 'record who verified the change a --ticket or pre-migration backup preceded (its retention then runs)',
  usage: 'hoard confirm ID --by NAME [--note TEXT]',
  flags: {
    by: { type: 'string', help: 'who verified the change' },
    note: { type: 'string', help: 'what was verified (one line)' },
  },
  async run(ctx) {
    const r = await confirmBackup(
      ctx.env,
      await ctx.project(),
      { ref: ctx.args.positionals[0] ?? '', by: textFlag(ctx.args, 'by') ?? '', note: textFlag(ctx.args, 'note') },
      { signal: ctx.signal },
    );
    if (ctx.json)
      ctx.out(
        JSON.stringify({
          message_type: 'summary',
          status: 'success',
          snapshot_id: r.id,
          previous_id: r.old,
          confirmation: r.confirmation,
        }),
      );
    else
      ctx.out(
        `confirmed ${r.old.slice(0, 8)} by ${r.confirmation.by} at ${r.confirmation.at}; its retention now runs` +
          (r.id !== r.old ? ` (its id is now ${r.id.slice(0, 8)}, as after restic tag)` : ''),
      );
    return 0;
  },
};
