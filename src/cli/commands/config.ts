/** `hoard config check` (every problem of hoard.yaml, secrets resolved) and `hoard config show` (settings and where each came from). */
import { HoardError, isHoardError } from '../../core/index.js';
import { checkSecrets } from '../../app/config-check.js';
import { type ConfigProblem, defaultRepositoryName, environmentPolicy } from '../../config/index.js';
import type { Command, CommandContext } from '../context.js';
import type { Project } from '../../app/project.js';
import { EXIT } from '../exit-codes.js';

async function check(ctx: CommandContext): Promise<number> {
  let p: Project;
  try {
    p = await ctx.project();
  } catch (e) {
    const problems = isHoardError(e, 'config') ? (e.context.problems as ConfigProblem[] | undefined) : undefined;
    if (!problems) throw e;
    if (ctx.json) ctx.out(JSON.stringify({ valid: false, problems }));
    else for (const x of problems) ctx.out(`${x.where}: ${x.key ? `${x.key}: ` : ''}${x.message}\n  fix: ${x.fix}`);
    return EXIT.failure;
  }
  if (!p.loaded)
    throw new HoardError('config', 'there is no hoard.yaml here nor in a parent folder', {
      hint: 'run `hoard init`, or pass --config FILE',
    });
  const secrets = await checkSecrets(p);
  const bad = secrets.filter((s) => s.state === 'missing');
  const c = p.config;
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        valid: bad.length === 0,
        file: p.loaded.file,
        problems: bad.map((s) => ({ where: s.where, key: s.key, message: s.message, fix: s.fix })),
        warnings: secrets.filter((s) => s.state === 'inline'),
      }),
    );
    return bad.length ? EXIT.failure : 0;
  }
  for (const s of secrets.filter((x) => x.state !== 'ok'))
    ctx.out(`${s.where}: ${s.key}: ${s.state === 'inline' ? 'warning: ' : ''}${s.message}\n  fix: ${s.fix}`);
  const n = (o?: object) => Object.keys(o ?? {}).length;
  ctx.out(
    bad.length
      ? `${p.loaded.file}: ${bad.length} secret(s) cannot be resolved`
      : `${p.loaded.file} is valid: ${n(c.sources)} source(s), ${n(c.jobs)} job(s), ${n(c.repositories)} repository(ies); every secret resolves`,
  );
  return bad.length ? EXIT.failure : 0;
}

async function show(ctx: CommandContext): Promise<number> {
  const p = await ctx.project();
  const s = p.settings;
  const env = s.environment?.value;
  const out = {
    file: p.loaded?.file ?? null,
    repository: s.repository
      ? {
          name: s.repository.value.name ?? null,
          url: s.repository.value.url,
          from: s.repository.from,
          password: s.repository.value.password ? 'from hoard.yaml (reference)' : 'from HOARD_PASSWORD* or a prompt',
        }
      : null,
    environment: env ? { from: s.environment!.from, ...environmentPolicy(env, p.config) } : null,
    default_repository: defaultRepositoryName(p.config) ?? null,
    sources: Object.keys(p.config.sources ?? {}),
    jobs: Object.keys(p.config.jobs ?? {}),
  };
  if (ctx.json) {
    ctx.out(JSON.stringify(out));
    return 0;
  }
  ctx.out(`config       ${out.file ?? '(none)'}`);
  ctx.out(
    `repository   ${out.repository ? `${out.repository.url}${out.repository.name ? ` (${out.repository.name})` : ''}  [from ${out.repository.from}]` : '(none)'}`,
  );
  ctx.out(
    `environment  ${out.environment ? `${out.environment.name}  [from ${out.environment.from}]; ${out.environment.protected ? 'protected' : 'not protected'}, default retention ${out.environment.retention_days ?? 'none'} d` : '(none)'}`,
  );
  ctx.out(`sources      ${out.sources.join(', ') || '(none)'}`);
  ctx.out(`jobs         ${out.jobs.join(', ') || '(none)'}`);
  return 0;
}

export const configCommand: Command = {
  name: 'config',
  summary: 'check hoard.yaml (every problem, every secret) or show the settings in force',
  usage: 'hoard config check|show [--config FILE] [--json]',
  flags: { environment: { type: 'string', help: 'the environment to show (as other commands take it)' } },
  run(ctx) {
    const sub = ctx.args.positionals[0];
    if (sub === 'check') return check(ctx);
    if (sub === 'show') return show(ctx);
    throw new HoardError('usage', `unknown config command ${sub ?? ''}`.trim(), {
      hint: 'use hoard config check or hoard config show',
    });
  },
};
