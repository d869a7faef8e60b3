import cliProgress from 'cli-progress';

export interface Progress {
  add(n: number): void;
  stop(): void;
}

/** Seconds between plain progress lines when stderr is not a terminal (CI logs). */
const PLAIN_INTERVAL_S = 10;

/**
 * A progress bar with rate and ETA on a terminal; plain, infrequent lines otherwise. Always on
 * stderr, so `--json` output on stdout stays machine-readable.
 */
export function startProgress(label: string, total: number, unit: string): Progress {
  const t0 = performance.now();
  let done = 0;
  const rate = () => done / Math.max((performance.now() - t0) / 1000, 1e-9);
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0.0' });
    return {
      add(n) {
        done += n;
        bar.update(done, { rate: rate().toFixed(1) });
      },
      stop: () => bar.stop(),
    };
  }
  let last = t0;
  return {
    add(n) {
      done += n;
      const now = performance.now();
      if (now - last >= PLAIN_INTERVAL_S * 1000 || done === total) {
        last = now;
        const eta = rate() > 0 ? (total - done) / rate() : 0;
        process.stderr.write(
          `${label}: ${done}/${total} ${unit}, ${rate().toFixed(1)} ${unit}/s, ETA ${eta.toFixed(0)} s\n`,
        );
      }
    },
    stop() {},
  };
}
