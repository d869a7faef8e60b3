/**
 * Serializes the model calls on one device — on CPU one `session.run` already uses every core, so two
 * at once only contend — and measures how long the device is busy, which `falip bench` and
 * `falip eval` report as the encoder's share of wall time.
 */
export class DeviceLock {
  private tail: Promise<unknown> = Promise.resolve();
  busyMs = 0;
  runs = 0;

  run<T>(call: () => Promise<T>): Promise<T> {
    const result = this.tail.then(async () => {
      const t0 = performance.now();
      try {
        return await call();
      } finally {
        this.busyMs += performance.now() - t0;
        this.runs++;
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}
