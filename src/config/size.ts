/** Sizes as people write them, in flags and in hoard.yaml (`verify.min_size`, `--max-unused`). */
import { HoardError } from '../core/index.js';

/**
 * A size such as 10MB, 1.5GiB, 500 (bytes) or restic's 10M / 2g (k, m, g, t: powers of 1024);
 * kind "usage" naming `flag` otherwise.
 */
export function parseSize(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB|k|m|g|t)?$/i.exec(v.trim());
  if (!m) throw new HoardError('usage', `${flag} must be a size such as 10MB or 1GiB, not ${v}`);
  const unit = (m[2] ?? 'B').toLowerCase();
  const mult: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
    tb: 1e12,
    tib: 1024 ** 4,
    k: 1024,
    m: 1024 ** 2,
    g: 1024 ** 3,
    t: 1024 ** 4,
  };
  return Math.round(Number(m[1]) * mult[unit]);
}
