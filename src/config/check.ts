/** References between sections of hoard.yaml: each one names something that exists, and names do not clash. */
import type { ConfigPath } from './load.js';
import type { HoardConfig } from './schema.js';

export interface CrossProblem {
  path: ConfigPath;
  message: string;
  fix: string;
}

function unknown(path: ConfigPath, what: string, name: string, known: string[]): CrossProblem {
  return {
    path,
    message: `names the ${what} ${name}, which is not defined`,
    fix: known.length
      ? `use one of ${known.join(', ')}, or define ${name} under ${what === 'repository' ? 'repositories' : `${what}s`}:`
      : `define ${name} under ${what === 'repository' ? 'repositories' : `${what}s`}:`,
  };
}

/** Problems with references and name clashes; empty when the config is consistent. */
export function crossCheck(c: HoardConfig): CrossProblem[] {
  const out: CrossProblem[] = [];
  const sources = Object.keys(c.sources ?? {});
  const repos = Object.keys(c.repositories ?? {});
  if (c.repository && !repos.includes(c.repository))
    out.push(unknown(['repository'], 'repository', c.repository, repos));
  for (const [jobName, job] of Object.entries(c.jobs ?? {})) {
    job.sources.forEach((s, i) => {
      if (!sources.includes(s)) out.push(unknown(['jobs', jobName, 'sources', i], 'source', s, sources));
    });
    job.destinations?.forEach((d, i) => {
      if (!repos.includes(d)) out.push(unknown(['jobs', jobName, 'destinations', i], 'repository', d, repos));
    });
    if (sources.includes(jobName)) {
      out.push({
        path: ['jobs', jobName],
        message: `the job ${jobName} has the name of a source`,
        fix: 'rename the job or the source: `hoard backup NAME` must mean one thing',
      });
    }
  }
  for (const [kind, rule] of Object.entries(c.retention ?? {})) {
    if (rule === 'forever') continue;
    const set = [rule.days, rule.weeks, rule.months].filter((x) => x !== undefined).length;
    if (set !== 1)
      out.push({
        path: ['retention', kind],
        message: set ? 'gives more than one of days, weeks, months' : 'gives none of days, weeks, months',
        fix: 'keep exactly one, e.g. { days: 7 }',
      });
    if (kind === 'daily' && rule.days !== undefined && rule.days > 30)
      out.push({
        path: ['retention', kind, 'days'],
        message: `daily backups are kept 1 to 30 days, not ${rule.days}`,
        fix: 'keep longer history with weekly or monthly backups',
      });
    if (kind === 'weekly' && rule.weeks !== undefined && rule.weeks > 12)
      out.push({
        path: ['retention', kind, 'weeks'],
        message: `weekly backups are kept 1 to 12 weeks, not ${rule.weeks}`,
        fix: 'keep longer history with monthly backups',
      });
    if (kind === 'manual')
      out.push({
        path: ['retention', kind],
        message: 'manual backups are never removed by policy',
        fix: 'remove this rule; delete manual backups with `hoard delete`',
      });
  }
  for (const t of Object.keys(c.restore_targets ?? {})) {
    if (sources.includes(t))
      out.push({
        path: ['restore_targets', t],
        message: `the restore target ${t} has the name of a source`,
        fix: "rename one of them: a restore's target NAME must mean one place",
      });
  }
  c.verify?.drill?.sources?.forEach((s, i) => {
    if (!sources.includes(s)) out.push(unknown(['verify', 'drill', 'sources', i], 'source', s, sources));
  });
  return out;
}
