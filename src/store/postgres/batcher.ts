/**
 * One statement for many requests: while a statement is in flight, the requests that arrive
 * queue, and the next statement takes them all — one round trip, one transaction, one WAL flush
 * instead of one each. Every request still gets its own answer, only after the commit. A request
 * whose key is already in the batch waits for the next one (a row is changed once per statement).
 */

/** At most this many requests per statement. */
const MAX_BATCH = 256;

interface Queued<Req, Res> {
  req: Req;
  resolve: (r: Res | PromiseLike<Res>) => void;
  reject: (e: unknown) => void;
}

export class Batcher<Req, Res> {
  private queue: Queued<Req, Res>[] = [];
  private running = false;

  /**
   * `run` answers a batch of distinct-keyed requests, in order; an answer may itself be a promise
   * (a follow-up read for one request), which then settles that request alone.
   */
  constructor(
    private readonly key: (r: Req) => string,
    private readonly run: (batch: Req[]) => Promise<(Res | Promise<Res>)[]>,
  ) {}

  submit(req: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) await this.runOnce(this.take());
    } finally {
      this.running = false;
    }
  }

  /** Up to MAX_BATCH queued requests with distinct keys; the others stay queued, in order. */
  private take(): Queued<Req, Res>[] {
    const keys = new Set<string>();
    const batch: Queued<Req, Res>[] = [];
    const rest: Queued<Req, Res>[] = [];
    for (const q of this.queue) {
      const k = this.key(q.req);
      if (batch.length < MAX_BATCH && !keys.has(k)) {
        keys.add(k);
        batch.push(q);
      } else rest.push(q);
    }
    this.queue = rest;
    return batch;
  }

  private async runOnce(batch: Queued<Req, Res>[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.run(batch.map((q) => q.req));
        batch.forEach((q, i) => q.resolve(out[i]!));
        return;
      } catch (e) {
        // A statement that locks several rows can deadlock with another one (a lease renewal,
        // another node's batch); PostgreSQL then rolls it back whole, so it can simply run again.
        if (isDeadlock(e) && attempt < DEADLOCK_ATTEMPTS) continue;
        for (const q of batch) q.reject(e);
        return;
      }
    }
  }
}

/** A batch as one array per column (what a statement over unnest($1::…[], $2::…[], …) takes). */
export const columnsOf = <R>(batch: R[], ...columns: ((r: R) => unknown)[]): unknown[][] => columns.map((c) => batch.map(c));

const DEADLOCK_ATTEMPTS = 5;
const isDeadlock = (e: unknown) => (e as { code?: unknown } | null)?.code === '40P01';
