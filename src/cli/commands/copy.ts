/** `hoard copy --to NAME|URL [ID…] [--source S]`: snapshots of the repository in force into another one (restic copy). */
import { textFlag } from '../args.js';
import { HoardError } from '../../core/index.js';
import { copyTo } from '../../app/copy.js';
import { chooseSnapshot, queryBackups } from '../../app/select.js';
import type { Command } from '../context.js';
import { size } from '../render.js';

export const copyCommand: Command = {
  name: 'copy',
  summary: 'copy snapshots to another repository (only missing data moves)',
  usage: 'hoard copy --to NAME|URL [ID…] [--source S]',
  flags: {
    to: {
      type: 'string',
      help: 'the destination: a repository of hoard.yaml or a URL (its password: hoard.yaml, else HOARD_PASSWORD*)',
    },
    source: { type: 'string', help: 'only the backups of this source' },
  },
  async run(ctx) {
    const to = textFlag(ctx.args, 'to');
    if (!to)
      throw new HoardError('usage', 'copy needs a destination', {
        hint: 'hoard copy --to offsite (a repository of hoard.yaml) or --to s3:https://HOST/BUCKET/PREFIX',
      });
    const p = await ctx.project();
    const ids = ctx.args.positionals;
    const source = textFlag(ctx.args, 'source');
    const now = ctx.env.clock.now();
    const r = await copyTo(
      ctx.env,
      p,
      to,
      (all) => {
        const chosen = ids.length ? ids.map((ref) => chooseSnapshot(all, { ref }, now)) : all;
        return source ? queryBackups(chosen, { source }, now) : chosen;
      },
      { signal: ctx.signal },
    );
    if (ctx.json) {
      ctx.out(
        JSON.stringify({
          message_type: 'summary',
          destination: r.destination,
          location: r.location,
          copied: r.copied,
          skipped: r.skipped,
          blobs_added: r.blobs,
          bytes_added: r.bytes,
        }),
      );
      return 0;
    }
    for (const c of r.copied)
      ctx.out(`copied ${c.source.slice(0, 8)} to ${r.destination} as ${c.destination.slice(0, 8)}`);
    ctx.out(
      `${r.copied.length} snapshot(s) copied, ${r.skipped.length} already there; ${r.blobs} blob(s), ${size(r.bytes)} new at ${r.location}`,
    );
    return 0;
  },
};
