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
    path, message: `names the ${what} ${name}, which is not defined`,
    fix: known.length ? `use one of ${known.join(', ')}, or define ${name} under ${what === 'repository' ? 'repositories' : `${what}s`}:` : `define ${name} under ${what === 'repository' ? 'repositories' : `${what}s`}:`,
  };
}

/** Problems with references and name clashes; empty when the config is consistent. */
export function crossCheck(c: HoardConfig): CrossProblem[] {
  const out: CrossProblem[] = [];
  const sources = Object.keys(c.sources ?? {});
  const repos = Object.keys(c.repositories ?? {});
  if (c.repository && !repos.includes(c.repository)) out.push(unknown(['repository'], 'repository', c.repository, repos));
  for (const [jobName, job] of Object.entries(c.jobs ?? {})) {
    job.sources.forEach((s, i) => { if (!sources.includes(s)) out.push(unknown(['jobs', jobName, 'sources', i], 'source', s, sources)); });
    job.destinations?.forEach((d, i) => { if (!repos.includes(d)) out.push(unknown(['jobs', jobName, 'destinations', i], 'repository', d, repos)); });
    if (sources.includes(jobName)) {
      out.push({ path: ['jobs', jobName], message: `the job ${jobName} has the name of a source`, fix: 'rename the job or the source: `hoard backup NAME` must mean one thing' });
    }
  }
  c.verify?.drill?.sources?.forEach((s, i) => { if (!sources.includes(s)) out.push(unknown(['verify', 'drill', 'sources', i], 'source', s, sources)); });
  return out;
}
