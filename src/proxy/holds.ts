// `kiln pause <cluster>`: while something outside is fixed, a cluster's new requests wait here
// instead of failing, in the order they arrived, and are sent on in that order when the pause is
// lifted (a route table without it). A pause has a bound (its `until`): what still waits then is
// answered 503, and so is every new request until `kiln resume`. Waiting requests are not read
// (their bodies stay in the socket) and cost one entry each; a client that gives up is dropped.
// The bound and the count cap keep a forgotten pause from holding the proxy's memory.

export interface Waiter {
  /** Sends the request on, resolved against the table of now. */
  release(): void;
  /** Answers it 503: the bound passed, or the proxy holds too many. */
  expire(why: string): void;
}

interface Queue {
  until: number;
  waiting: Set<Waiter>;
  timer: NodeJS.Timeout | null;
}

/** Requests held at most at once, across clusters. */
export const MAX_HELD = 10_000;

export class Holds {
  private readonly queues = new Map<string, Queue>();
  private count = 0;

  constructor(private readonly max = MAX_HELD) {}

  /** Holds `w` for `cluster` until released or `until`; false (w not taken) when that is past or the cap is reached. */
  hold(cluster: string, until: number, w: Waiter, onGone: (drop: () => void) => void): boolean {
    if (until <= Date.now() || this.count >= this.max) return false;
    let q = this.queues.get(cluster);
    if (!q) {
      q = { until, waiting: new Set(), timer: null };
      this.queues.set(cluster, q);
      this.arm(cluster, q);
    }
    q.waiting.add(w);
    this.count++;
    onGone(() => {
      if (q.waiting.delete(w)) this.count--;
    });
    return true;
  }

  /** Held requests per cluster (GET /stats). */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [c, q] of this.queues) if (q.waiting.size > 0) out[c] = q.waiting.size;
    return out;
  }

  /**
   * After a new route table: clusters it no longer holds are released in arrival order; a pause
   * whose bound moved waits for the new one.
   */
  apply(held: ReadonlyMap<string, number>): void {
    for (const [cluster, q] of this.queues) {
      const until = held.get(cluster);
      if (until === undefined) this.finish(cluster, q, (w) => w.release());
      else if (until !== q.until) {
        q.until = until;
        this.arm(cluster, q);
      }
    }
  }

  private arm(cluster: string, q: Queue): void {
    if (q.timer) clearTimeout(q.timer);
    // Timers hold at most ~24.8 days; a longer bound is re-armed when this one fires.
    const delay = Math.min(Math.max(0, q.until - Date.now()), 2 ** 31 - 1);
    q.timer = setTimeout(() => {
      if (Date.now() < q.until) return this.arm(cluster, q);
      this.finish(cluster, q, (w) => w.expire(`cluster ${cluster} is paused and its bound passed; kiln resume ${cluster} lets requests through again`));
    }, delay);
    q.timer.unref();
  }

  private finish(cluster: string, q: Queue, each: (w: Waiter) => void): void {
    if (q.timer) clearTimeout(q.timer);
    this.queues.delete(cluster);
    const waiting = [...q.waiting]; // a Set iterates in insertion order: arrival order
    q.waiting.clear();
    this.count -= waiting.length;
    for (const w of waiting) each(w);
  }
}
