/**
 * PostgreSQL's write-ahead log by name: segment files (24 hex digits: timeline, then the segment
 * number split at 2^32 bytes), timeline history files, backup history files and LSNs. Pure: names
 * in, numbers out. Every name read from a repository or an archive_command goes through
 * `walFileKind` first, so that nothing else (a path, `../x`) is ever taken for a WAL file.
 */

/** The kinds of file an archive holds. */
export type WalFileKind = 'segment' | 'partial' | 'history' | 'backup';

const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const PARTIAL = /^([0-9A-F]{24})\.partial$/;
const HISTORY = /^([0-9A-F]{8})\.history$/;
const BACKUP = /^([0-9A-F]{24})\.[0-9A-F]{8}\.backup$/;

/** What a file name is, or undefined when it is no WAL file name at all. */
export function walFileKind(name: string): WalFileKind | undefined {
  if (SEGMENT.test(name)) return 'segment';
  if (PARTIAL.test(name)) return 'partial';
  if (HISTORY.test(name)) return 'history';
  if (BACKUP.test(name)) return 'backup';
  return undefined;
}

/** A segment's timeline and number (segment number = LSN / segment size). */
export interface SegmentId {
  timeline: number;
  segno: bigint;
}

/** Segments per 4 GiB "log" of the name's middle part. */
const perLog = (segSize: number) => 0x1_0000_0000n / BigInt(segSize);

/** The timeline and segment number of a segment name (or the segment a .partial or .backup file belongs to). */
export function parseSegment(name: string, segSize: number): SegmentId | undefined {
  const base = name.slice(0, 24);
  const m = SEGMENT.exec(base);
  if (!m || walFileKind(name) === 'history') return undefined;
  const lo = BigInt(`0x${m[3]}`);
  if (lo >= perLog(segSize)) return undefined;
  return { timeline: Number.parseInt(m[1], 16), segno: BigInt(`0x${m[2]}`) * perLog(segSize) + lo };
}

/** The file name of a segment. */
export function segmentName(id: SegmentId, segSize: number): string {
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return hex(id.timeline) + hex(id.segno / perLog(segSize)) + hex(id.segno % perLog(segSize));
}

/** An LSN such as 0/3000028 as a number; undefined when it is not one. */
export function parseLsn(s: string): bigint | undefined {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(s.trim());
  return m ? (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`) : undefined;
}

/** The segment holding `lsn` on `timeline`. */
export function segmentOf(lsn: bigint, timeline: number, segSize: number): SegmentId {
  return { timeline, segno: lsn / BigInt(segSize) };
}

/** A timeline's number as history files name it. */
export function historyName(timeline: number): string {
  return `${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
}

/**
 * The timelines a history file names as this one's ancestors, with the LSN where each ended
 * (lines "1\t0/3000158\treason"); lines that are not of that shape are ignored.
 */
export function parseHistory(text: string): { timeline: number; endLsn: bigint }[] {
  const out: { timeline: number; endLsn: bigint }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+([0-9A-Fa-f]+\/[0-9A-Fa-f]+)/.exec(line);
    const lsn = m ? parseLsn(m[2]) : undefined;
    if (m && lsn !== undefined) out.push({ timeline: Number(m[1]), endLsn: lsn });
  }
  return out;
}
