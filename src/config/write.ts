/**
 * Writing a new hoard.yaml (for `hoard init`): readable block YAML with a header comment. The text
 * is validated with parseConfig before it is returned, so init never writes a file hoard rejects.
 */
import { parseConfig } from './parse.js';
import type { SourceConfig } from './schema.js';

export interface NewConfig {
  environment: string;
  repository: { url: string; password: string };
  sources: Record<string, SourceConfig>;
  job?: { name: string; schedule: string; kind: string; retention_days: number };
  /** A comment per source (where it was found), written above it. */
  notes?: Record<string, string>;
  /** The date to put in the header. */
  date: string;
}

const q = (s: string) =>
  /^[A-Za-z0-9_./-][A-Za-z0-9_./ -]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~)$/i.test(s) && !/\s$/.test(s)
    ? s
    : JSON.stringify(s);

function source(name: string, s: SourceConfig): string[] {
  const out = [`  ${name}:`, `    type: ${s.type}`];
  if (s.type === 'sqlite') out.push(`    path: ${q(s.path)}`);
  if (s.type === 'postgres' || s.type === 'mysql') out.push(`    url: ${q(s.url)}`);
  if (s.type === 'postgres' && s.format) out.push(`    format: ${s.format}`);
  if (s.type === 'files') {
    out.push(`    paths: [${s.paths.map(q).join(', ')}]`);
    if (s.exclude?.length) out.push(`    exclude: [${s.exclude.map((x) => JSON.stringify(x)).join(', ')}]`);
  }
  return out;
}

/** The file's text; throws (kind "config") if it would not load, which would be a bug here. */
export function renderConfig(c: NewConfig, file = 'hoard.yaml'): string {
  const lines = [
    `# hoard.yaml, written by \`hoard init\` on ${c.date}. Every key: docs/configuration.md`,
    '# Secrets are references (env:NAME, file:PATH, cmd:COMMAND), never values.',
    'version: 1',
    `environment: ${q(c.environment)}`,
    '',
    'repositories:',
    '  local:',
    `    url: ${q(c.repository.url)}`,
    `    password: ${q(c.repository.password)}   # keep a copy of this file somewhere else`,
    '',
    Object.keys(c.sources).length ? 'sources:' : 'sources: {}   # add sources here (docs/configuration.md)',
  ];
  for (const [name, s] of Object.entries(c.sources)) {
    if (c.notes?.[name]) lines.push(`  # ${c.notes[name]}`);
    lines.push(...source(name, s));
  }
  if (c.job && Object.keys(c.sources).length) {
    lines.push(
      '',
      'jobs:',
      `  ${c.job.name}:`,
      `    sources: [${Object.keys(c.sources).join(', ')}]`,
      `    schedule: ${q(c.job.schedule)}`,
      `    kind: ${c.job.kind}`,
      `    retention_days: ${c.job.retention_days}`,
    );
  }
  const text = `${lines.join('\n')}\n`;
  parseConfig(text, file);
  return text;
}
