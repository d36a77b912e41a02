/** Typed progress and result events. Core emits; front ends render (text, progress bar, NDJSON). */
export type HoardEvent =
  | {
      type: 'backup.progress';
      files: number;
      dirs: number;
      bytes: number;
      bytesAdded: number;
      totalBytes?: number;
      current?: string;
    }
  | { type: 'backup.warning'; path: string; message: string }
  | { type: 'restore.progress'; files: number; bytes: number; totalBytes: number }
  | { type: 'restore.warning'; path: string; message: string }
  | { type: 'check.progress'; done: number; total: number; phase: string }
  | { type: 'check.error'; message: string; pack?: string };

/** Receives events; must not throw. */
export type Reporter = (e: HoardEvent) => void;

/** A reporter that drops everything. */
export const silent: Reporter = () => {};
