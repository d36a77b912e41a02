/** The only way core learns the time: an injected clock (the CLI passes the system clock). */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** A clock that always returns the same instant, advanced by hand (tests). */
export function fixedClock(ms: number): Clock & { advance(ms: number): void } {
  let t = ms;
  return {
    now: () => t,
    advance: (d: number) => {
      t += d;
    },
  };
}
