/**
 * The positions of a base backup read from the tar pg_basebackup writes: `backup_label` (start
 * LSN, timeline) and the tail of `backup_manifest` (the WAL range to its end LSN). With `-D -` and
 * `-X none`, pg_basebackup prints neither position, so they are read from the stream as it passes
 * into the repository; the bytes pass through unchanged. Parsing uses node-tar's streaming Parser.
 */
import { Parser, type ReadEntry } from 'tar';

export interface BackupPositions {
  startLsn?: string;
  endLsn?: string;
  timeline?: number;
}

const LABEL_MAX = 64 * 1024;
const MANIFEST_TAIL = 64 * 1024;

/** Fills `into` from a backup_label's text. */
export function readLabel(text: string, into: BackupPositions): void {
  const start = /^START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+)/m.exec(text);
  const tl = /^START TIMELINE: (\d+)/m.exec(text);
  if (start) into.startLsn = start[1];
  if (tl) into.timeline = Number(tl[1]);
}

/** Fills `into` from the tail of a backup_manifest (its last WAL range). */
export function readManifestTail(text: string, into: BackupPositions): void {
  const ranges = [
    ...text.matchAll(
      /"Timeline":\s*(\d+),\s*"Start-LSN":\s*"([0-9A-F]+\/[0-9A-F]+)",\s*"End-LSN":\s*"([0-9A-F]+\/[0-9A-F]+)"/g,
    ),
  ];
  const last = ranges[ranges.length - 1];
  if (last) into.endLsn = last[3];
}

/** The tar stream `source`, unchanged, with `positions` filled from its backup_label and backup_manifest. */
export async function* withPositions(
  source: AsyncIterable<Buffer>,
  positions: BackupPositions,
): AsyncGenerator<Buffer> {
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const name = entry.path.replace(/^\.\//, '');
      if (name !== 'backup_label' && name !== 'backup_manifest') return void entry.resume();
      let text = '';
      entry.on('data', (d: Buffer) => {
        text =
          name === 'backup_label'
            ? (text + d.toString('latin1')).slice(0, LABEL_MAX)
            : (text + d.toString('latin1')).slice(-MANIFEST_TAIL);
      });
      entry.on('end', () => (name === 'backup_label' ? readLabel(text, positions) : readManifestTail(text, positions)));
    },
  });
  for await (const chunk of source) {
    parser.write(chunk);
    yield chunk;
  }
  parser.end();
}
