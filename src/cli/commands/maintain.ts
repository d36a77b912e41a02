/** Commands that check or change the repository: check, unlock, key. */
import { textFlag } from '../args.js';
import { HoardError } from '../../core/index.js';
import { resolvePassword } from '../../app/environment.js';
import {
  addProjectKey,
  changeProjectPassword,
  checkProject,
  listProjectKeys,
  removeProjectKey,
  unlockProject,
} from '../../app/maintain.js';
import type { Command, CommandContext } from '../context.js';
import { EXIT } from '../exit-codes.js';

function parseSubset(v: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(v);
  const frac = /^(\d+)\/(\d+)$/.exec(v);
  const x = m ? Number(m[1]) / 100 : frac ? Number(frac[1]) / Number(frac[2]) : NaN;
  if (!(x > 0 && x <= 1))
    throw new HoardError('usage', `invalid --read-data-subset ${v}`, { hint: 'give a percentage such as 10%' });
  return x;
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'check the repository for errors',
  usage: 'hoard check [--read-data | --read-data-subset N%]',
  flags: {
    'read-data': { type: 'boolean', help: 'also read, decrypt and verify all data' },
    'read-data-subset': { type: 'string', help: 'read this share of the packs, e.g. 10%' },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const subset = f['read-data-subset'] ? parseSubset(textFlag(ctx.args, 'read-data-subset')!) : undefined;
    const s = await checkProject(ctx.env, await ctx.project(), {
      readData: f['read-data'] === true,
      subset,
      signal: ctx.signal,
      report: ctx.report,
    });
    if (ctx.json) ctx.out(JSON.stringify({ message_type: 'summary', ok: s.errors.length === 0, ...s }));
    else {
      for (const h of s.hints) ctx.out(`hint: ${h}`);
      ctx.out(`checked ${s.snapshots} snapshots, ${s.packs} packs${s.packsRead ? `, read ${s.packsRead} packs` : ''}`);
      for (const a of s.affected)
        ctx.out(
          `snapshot ${a.snapshot.slice(0, 8)} is damaged: ${a.paths.slice(0, 10).join(', ')}${a.paths.length > 10 ? ` and ${a.paths.length - 10} more` : ''}`,
        );
      if (s.damagedPacks.length) ctx.out(`damaged packs: ${s.damagedPacks.join(', ')}`);
      ctx.out(
        s.errors.length ? `${s.errors.length} error(s) found: the repository is damaged` : 'no errors were found',
      );
    }
    return s.errors.length ? EXIT.verify : 0;
  },
};

export const unlockCommand: Command = {
  name: 'unlock',
  summary: 'remove stale locks',
  usage: 'hoard unlock [--remove-all]',
  flags: { 'remove-all': { type: 'boolean', help: 'remove all locks, even those in use' } },
  async run(ctx) {
    const removed = await unlockProject(ctx.env, await ctx.project(), {
      removeAll: ctx.args.flags['remove-all'] === true,
    });
    if (ctx.json) ctx.out(JSON.stringify({ message_type: 'summary', removed }));
    else ctx.out(removed.length ? `removed ${removed.length} lock(s)` : 'no stale locks');
    return 0;
  },
};

async function newPassword(ctx: CommandContext): Promise<string> {
  const v = ctx.env.vars;
  const sub = {
    ...ctx.env,
    vars: {
      HOARD_PASSWORD: v.HOARD_NEW_PASSWORD,
      HOARD_PASSWORD_FILE: v.HOARD_NEW_PASSWORD_FILE,
      HOARD_PASSWORD_COMMAND: v.HOARD_NEW_PASSWORD_COMMAND,
    },
  };
  try {
    return await resolvePassword(sub, { confirm: true });
  } catch {
    throw new HoardError('usage', 'no new password given', {
      hint: 'set HOARD_NEW_PASSWORD or HOARD_NEW_PASSWORD_FILE (or run on a terminal)',
    });
  }
}

export const keyCommand: Command = {
  name: 'key',
  summary: 'manage passwords: key list|add|remove ID|passwd',
  usage: 'hoard key list|add|remove ID|passwd',
  flags: {},
  async run(ctx) {
    const [sub, arg] = ctx.args.positionals;
    const p = await ctx.project();
    switch (sub) {
      case 'list': {
        const keys = await listProjectKeys(ctx.env, p);
        if (ctx.json) ctx.out(JSON.stringify(keys.map((k) => ({ ...k, short_id: k.id.slice(0, 8) }))));
        else
          for (const k of keys)
            ctx.out(`${k.current ? '*' : ' '}${k.id.slice(0, 8)}  ${k.username}@${k.hostname}  ${k.created}`);
        return 0;
      }
      case 'add': {
        const id = await addProjectKey(ctx.env, p, () => newPassword(ctx));
        ctx.out(ctx.json ? JSON.stringify({ message_type: 'summary', added: id }) : `added key ${id.slice(0, 8)}`);
        return 0;
      }
      case 'remove': {
        if (!arg) throw new HoardError('usage', 'key remove needs a key id', { hint: 'see `hoard key list`' });
        const id = await removeProjectKey(ctx.env, p, arg);
        ctx.out(ctx.json ? JSON.stringify({ message_type: 'summary', removed: id }) : `removed key ${id.slice(0, 8)}`);
        return 0;
      }
      case 'passwd': {
        const { added, removed } = await changeProjectPassword(ctx.env, p, () => newPassword(ctx));
        ctx.out(
          ctx.json
            ? JSON.stringify({ message_type: 'summary', added, removed })
            : `password changed (key ${added.slice(0, 8)})`,
        );
        return 0;
      }
      default:
        throw new HoardError('usage', `unknown key command ${sub ?? ''}`.trim(), {
          hint: 'use key list, key add, key remove ID or key passwd',
        });
    }
  },
};
