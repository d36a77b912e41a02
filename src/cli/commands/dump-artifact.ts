/**
 * `hoard dump` writes one file of a snapshot: to standard output when a PATH is given (as restic
 * does), else as a file in the current folder named after it (`app.sql`, `app.sql.gz` with --gzip,
 * `app.sql.zst` with --zstd) or --output FILE. A file is written under a temporary name and renamed
 * when complete, so a half-written artifact never carries the final name.
 */
import { textFlag } from '../args.js';
import { sequentialContent } from '../../app/repository-access.js';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HoardError, type Repository, type SnapshotEntry } from '../../core/index.js';
import { type ArtifactFormat, FORMAT_EXTENSION, compressor, namedFile, onlyFile } from '../../app/artifact.js';
import type { CommandContext } from '../context.js';
import { size } from '../render.js';

function format(ctx: CommandContext): ArtifactFormat {
  const f = ctx.args.flags;
  if (f.gzip && f.zstd) throw new HoardError('usage', 'choose --gzip or --zstd, not both');
  return f.gzip ? 'gz' : f.zstd ? 'zstd' : 'raw';
}

/**
 * The file name `dump` writes without --output: the stored file's name, which comes from the
 * repository, so only a plain one (letters, digits, ".", "_", "-", not starting with a dot: never
 * `.bashrc` or `.ssh`); anything else needs --output.
 */
function defaultName(stored: string, fmt: ArtifactFormat, s: SnapshotEntry): string {
  const name = `${path.basename(stored)}${FORMAT_EXTENSION[fmt]}`;
  if (/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}$/.test(name)) return name;
  throw new HoardError(
    'usage',
    `snapshot ${s.id.slice(0, 8)} names its file ${JSON.stringify(path.basename(stored)).slice(0, 80)}, which hoard does not write without being told; nothing was written`,
    { hint: 'give the file to write: --output FILE (or - for standard output)' },
  );
}

export async function dumpArtifact(ctx: CommandContext, repo: Repository, s: SnapshotEntry): Promise<number> {
  const given = ctx.args.positionals[1];
  const f = ctx.args.flags;
  const file = given ? await namedFile(repo, s, given) : await onlyFile(repo, s, ctx.signal);
  const fmt = format(ctx);
  const output = textFlag(ctx.args, 'output') ?? (given ? '-' : defaultName(file.path, fmt, s));
  const parts: (NodeJS.ReadableStream | NodeJS.WritableStream | Transform)[] = [
    Readable.from(sequentialContent(repo, file.node, ctx.signal)),
  ];
  const z = compressor(fmt);
  if (z) parts.push(z);
  if (output === '-') {
    await pipeline(
      [...parts, process.stdout] as unknown as Parameters<typeof pipeline>,
      { signal: ctx.signal, end: false } as never,
    );
    return 0;
  }
  const dest = path.resolve(ctx.env.cwd, output);
  if (
    !f.force &&
    (await stat(dest).then(
      () => true,
      () => false,
    ))
  ) {
    throw new HoardError('usage', `${output} already exists; nothing was written`, {
      hint: 'pass --output FILE, or --force to replace it',
    });
  }
  const tmp = `${dest}.partial-${process.pid}`;
  try {
    await pipeline(
      [...parts, createWriteStream(tmp, { flags: 'wx', mode: 0o600 })] as unknown as Parameters<typeof pipeline>,
      { signal: ctx.signal } as never,
    );
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const written = (await stat(dest)).size;
  if (ctx.json)
    ctx.out(
      JSON.stringify({
        message_type: 'summary',
        status: 'success',
        snapshot_id: s.id,
        filename: path.basename(dest),
        path: dest,
        size: written,
        source_path: file.path,
      }),
    );
  else ctx.out(`wrote ${output} (${size(written)}) from ${file.path} of snapshot ${s.id.slice(0, 8)}`);
  return 0;
}
