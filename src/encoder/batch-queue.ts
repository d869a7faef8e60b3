/**
 * A micro-batcher: producers submit single requests; requests that can share one model call
 * (same `keyOf`) are grouped into batches of at most `maxBatch`, one batch in flight per queue.
 *
 * A batch is started when the runner is idle; requests submitted in the same tick as others join
 * them, so concurrent producers fill batches without any waiting timer.
 */
export class BatchQueue<Req, Res> {
  private readonly pending = new Map<string, { req: Req; resolve: (r: Res) => void; reject: (e: unknown) => void }[]>();
  private running = false;
  private scheduled = false;

  constructor(
    private readonly run: (key: string, reqs: Req[]) => Promise<Res[]>,
    private readonly maxBatch: number,
    private readonly keyOf: (req: Req) => string,
  ) {}

  submit(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const key = this.keyOf(req);
      let list = this.pending.get(key);
      if (!list) {
        list = [];
        this.pending.set(key, list);
      }
      list.push({ req, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every producer that is ready in this turn enqueue before the batch is cut.
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  /** The fullest group goes first; ties go to the oldest key (Map order), so no key starves. */
  private nextBatch(): [string, { req: Req; resolve: (r: Res) => void; reject: (e: unknown) => void }[]] | undefined {
    let best: string | undefined;
    for (const [key, list] of this.pending) {
      if (best === undefined || list.length > this.pending.get(best)!.length) best = key;
      if (list.length >= this.maxBatch) break;
    }
    if (best === undefined) return undefined;
    const list = this.pending.get(best)!;
    const take = list.splice(0, this.maxBatch);
    if (list.length === 0) this.pending.delete(best);
    return [best, take];
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let next = this.nextBatch(); next; next = this.nextBatch()) {
        const [key, items] = next;
        try {
          const results = await this.run(
            key,
            items.map((i) => i.req),
          );
          if (results.length !== items.length)
            throw new Error(`batch returned ${results.length} results for ${items.length} requests`);
          items.forEach((item, i) => {
            item.resolve(results[i]!);
          });
        } catch (err) {
          // Only the requests of the failed batch learn about the error; the queue keeps going.
          for (const item of items) item.reject(err);
        }
        // Yield so producers woken by these results can enqueue before the next batch is cut.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
    }
  }
}
