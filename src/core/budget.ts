/**
 * A counting limit with an optional weight: at most `maxCount` holders and `maxWeight` total
 * weight at once (one holder may always exceed the weight alone, so a large item never waits
 * forever). Waiters are woken one per release, in order; no Promise.race over running work.
 */
export class Budget {
  private count = 0;
  private weight = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly idlers: (() => void)[] = [];

  constructor(
    private readonly maxCount: number,
    private readonly maxWeight = Infinity,
  ) {}

  /** Waits until `weight` fits, then holds it; pair with give(weight). */
  async take(weight = 0): Promise<void> {
    while (this.count >= this.maxCount || (this.count > 0 && this.weight + weight > this.maxWeight)) {
      await new Promise<void>((r) => this.waiters.push(r));
    }
    this.count++;
    this.weight += weight;
  }

  /** Releases what take(weight) held. */
  give(weight = 0): void {
    this.count--;
    this.weight -= weight;
    this.waiters.shift()?.();
    if (this.count === 0) for (const r of this.idlers.splice(0)) r();
  }

  /** Resolves when nothing is held. */
  async idle(): Promise<void> {
    if (this.count > 0) await new Promise<void>((r) => this.idlers.push(r));
  }

  get held(): number {
    return this.count;
  }
}
