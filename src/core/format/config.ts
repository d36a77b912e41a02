/** The repository config (restic-format.md §5): encrypted, never compressed, fixed name. */
import { HoardError } from '../errors.js';
import { decodeJsonObject } from './gojson.js';
import { isIrreducible, polynomialDegree, polynomialFromHex, polynomialToHex } from '../chunker/polynomial.js';

export interface RepoConfig {
  version: number;
  id: string;
  chunkerPolynomial: bigint;
}

/** Serializes as restic 0.14 does (json.Marshal, no newline). */
export function encodeConfig(c: RepoConfig): Buffer {
  return Buffer.from(
    `{"version":${c.version},"id":"${c.id}","chunker_polynomial":"${polynomialToHex(c.chunkerPolynomial)}"}`,
  );
}

/** Parses and validates a config plaintext; kind "corrupt" with the reason when invalid. */
export function decodeConfig(pt: Buffer): RepoConfig {
  const j = decodeJsonObject(pt, 'repository config');
  const version = j.version;
  if (version !== 1 && version !== 2) {
    throw new HoardError('corrupt', `unsupported repository version ${String(version)}`, {
      hint: 'hoard reads versions 1 and 2',
    });
  }
  if (typeof j.id !== 'string' || j.id === '') throw new HoardError('corrupt', 'repository config has no id');
  let pol: bigint;
  try {
    pol = polynomialFromHex(String(j.chunker_polynomial ?? ''));
  } catch {
    throw new HoardError('corrupt', 'repository config has an invalid chunker polynomial');
  }
  if (polynomialDegree(pol) !== 53 || !isIrreducible(pol)) {
    throw new HoardError('corrupt', 'invalid chunker polynomial in repository config');
  }
  return { version, id: j.id, chunkerPolynomial: pol };
}
