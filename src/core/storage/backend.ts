/**
 * The storage contract every backend (local, memory, s3, sftp) implements, and that the
 * conformance suite in ./conformance.ts checks.
 *
 * Files are addressed by (type, name). `name` is 64 lowercase hex characters for every type but
 * "config", whose name is always "". Files are immutable: written once, never modified, deleted.
 *
 * Semantics every backend guarantees:
 * - save() is atomic: a reader sees either no file or the complete file, never a prefix
 *   (local: temp name + fsync + rename). Saving a name that already exists fails with kind "io"
 *   unless the content is identical (then it is a no-op), so a retry after an ambiguous failure is safe.
 *   A backend keeps no reference to `data` once save() settles: the caller may then reuse the buffer.
 * - load() of a missing file fails with kind "not-found"; a range past the end fails with "corrupt"
 *   (the caller expected bytes that are not there). load() returns exactly `length` bytes.
 * - remove() of a missing file is a no-op (idempotent).
 * - list() yields only well-formed names (64 hex; "data" looks inside the two-character folders)
 *   and ignores temporary files; order is unspecified.
 * - A full disk fails with kind "no-space"; other transient failures set `retryable`.
 */
/**
 * restic's file types, plus `verification`: hoard's verification records, encrypted like unpacked
 * files, in a folder restic does not look at (`hoard/verifications/`).
 */
export type FileType = 'config' | 'key' | 'lock' | 'snapshot' | 'index' | 'data' | 'verification';

export const FILE_TYPES: readonly FileType[] = ['config', 'key', 'lock', 'snapshot', 'index', 'data', 'verification'];

export interface Handle {
  type: FileType;
  /** 64 hex chars; "" for config. */
  name: string;
}

export interface FileInfo {
  name: string;
  size: number;
}

export interface LoadOptions {
  offset?: number;
  /** Bytes to read; undefined reads to the end. */
  length?: number;
  signal?: AbortSignal;
}

export interface Backend {
  /** A display form of the location without credentials. */
  readonly location: string;
  /** Creates the layout (folders). Fails with "io" if a repository (config) already exists there. */
  create(): Promise<void>;
  /** True when the location holds a repository (a config file). */
  exists(): Promise<boolean>;
  save(h: Handle, data: Uint8Array, opts?: { signal?: AbortSignal }): Promise<void>;
  load(h: Handle, opts?: LoadOptions): Promise<Buffer>;
  /** Size of a file; kind "not-found" when missing. */
  stat(h: Handle): Promise<FileInfo>;
  remove(h: Handle): Promise<void>;
  list(type: Exclude<FileType, 'config'>, opts?: { signal?: AbortSignal }): AsyncIterable<FileInfo>;
  close(): Promise<void>;
}

/** Matches a well-formed storage file name. */
export const NAME_RE = /^[0-9a-f]{64}$/;

/** Restic's default layout path of a file, relative to the repository root. */
export function layoutPath(h: Handle): string {
  switch (h.type) {
    case 'config':
      return 'config';
    case 'key':
      return `keys/${h.name}`;
    case 'lock':
      return `locks/${h.name}`;
    case 'snapshot':
      return `snapshots/${h.name}`;
    case 'index':
      return `index/${h.name}`;
    case 'data':
      return `data/${h.name.slice(0, 2)}/${h.name}`;
    case 'verification':
      return `hoard/verifications/${h.name}`;
  }
}

/** The folder of a file type in restic's default layout. */
export function layoutDir(type: Exclude<FileType, 'config'>): string {
  return type === 'key'
    ? 'keys'
    : type === 'lock'
      ? 'locks'
      : type === 'snapshot'
        ? 'snapshots'
        : type === 'verification'
          ? 'hoard/verifications'
          : type;
}
