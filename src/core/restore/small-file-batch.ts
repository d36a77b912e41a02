/** What the restore's small-file writer sends its worker: jobs, and their contents in one transferred buffer. */

/** One file to write. Paths are latin1 strings of the path bytes (lossless for any bytes). */
export interface SmallFileJob {
  tmp: string;
  dest: string;
  perms?: number;
  owner: boolean;
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
  length: number;
}

export interface SmallFileBatch { jobs: SmallFileJob[]; bytes: Uint8Array<ArrayBuffer> }

/** Packs jobs and their contents (content i has length jobs[i].length). */
export function packContents(jobs: SmallFileJob[], contents: Uint8Array[]): SmallFileBatch {
  const bytes = new Uint8Array(jobs.reduce((n, j) => n + j.length, 0));
  let at = 0;
  for (const c of contents) { bytes.set(c, at); at += c.byteLength; }
  return { jobs, bytes };
}

/** Views of each job's content in a received batch. */
export function splitContents(b: SmallFileBatch): Uint8Array[] {
  let at = 0;
  return b.jobs.map((j) => b.bytes.subarray(at, (at += j.length)));
}
