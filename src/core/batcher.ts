/**
 * Gathers items for a worker thread and hands them over in batches: when `maxBytes` or `maxItems`
 * is reached, or else on the next turn of the event loop (so nothing waits for a batch to fill).
 * One message per batch: a round trip per small item would cost more than the work.
 */
export class Batcher<T> {
  private items: T[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(
    private readonly send: (items: T[]) => void,
    private readonly maxBytes: number,
    private readonly maxItems: number,
  ) {}

  add(item: T, bytes: number): void {
    this.items.push(item);
    this.bytes += bytes;
    if (this.bytes >= this.maxBytes || this.items.length >= this.maxItems) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends what has gathered, if anything. */
  flush(): void {
    this.scheduled = false;
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.bytes = 0;
    this.send(items);
  }

  /** Takes back what has not been sent (on shutdown). */
  drop(): T[] {
    const items = this.items;
    this.items = [];
    this.bytes = 0;
    return items;
  }
}
