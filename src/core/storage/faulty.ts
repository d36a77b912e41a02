/**
 * A fault-injecting Backend wrapper for crash tests: after `failAfter` successful writes or removes,
 * the next one fails and so does every call after it, as if the process had died there. Reads
 * before the fault pass through.
 */
import { HoardError } from '../errors.js';
import type { Backend } from './backend.js';

export interface FaultyBackend extends Backend {
  /** Writes and removes that succeeded. */
  readonly mutations: number;
  readonly tripped: boolean;
}

/** Wraps `inner`; `failAfter` = Infinity never fails (counts only). */
export function createFaultyBackend(inner: Backend, failAfter: number): FaultyBackend {
  let mutations = 0;
  let tripped = false;
  const dead = () => new HoardError('io', `injected fault after ${mutations} writes`);
  const mutate = async (op: () => Promise<void>) => {
    if (tripped || mutations >= failAfter) {
      tripped = true;
      throw dead();
    }
    await op();
    mutations++;
  };
  return {
    location: inner.location,
    get mutations() {
      return mutations;
    },
    get tripped() {
      return tripped;
    },
    create: () => inner.create(),
    exists: () => inner.exists(),
    save: (h, data, o) => mutate(() => inner.save(h, data, o)),
    remove: (h) => mutate(() => inner.remove(h)),
    async load(h, o) {
      if (tripped) throw dead();
      return inner.load(h, o);
    },
    async stat(h) {
      if (tripped) throw dead();
      return inner.stat(h);
    },
    async *list(type, o) {
      if (tripped) throw dead();
      yield* inner.list(type, o);
    },
    close: () => inner.close(),
  };
}
