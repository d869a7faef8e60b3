import cliProgress from 'cli-progress';

export interface Progress {
  add(n: number): void;
  stop(): void;
}

/** Seconds between plain progress lines when stderr is not a terminal (CI logs). */
const PLAIN_INTERVAL_S = 10;
/** Time constant of the rate's smoothing: recent seconds weigh most, a single slow batch does not swing the ETA. */
const SMOOTHING_S = 10;

/**
 * The rate and ETA of work done since the start: an exponentially smoothed rate (so the ETA neither jumps
 * with each batch nor lags a change of pace for long), and an ETA that is a number or "?" before there
 * is a rate, never NaN or Infinity. Work found done at the start (a resumed run) counts toward the total,
 * not the rate.
 */
export class RateMeter {
  private readonly t0 = performance.now();
  private lastTick = this.t0;
  private smoothed: number | undefined;
  private doneHere = 0;

  constructor(
    readonly total: number,
    private readonly alreadyDone: number,
  ) {}

  get done(): number {
    return this.alreadyDone + this.doneHere;
  }

  add(n: number, now = performance.now()): void {
    this.doneHere += n;
    const dt = (now - this.lastTick) / 1000;
    if (dt <= 0) return;
    const instant = n / dt;
    const weight = 1 - Math.exp(-dt / SMOOTHING_S);
    // The first interval seeds the average with the rate since the start.
    this.smoothed =
      this.smoothed === undefined
        ? this.doneHere / ((now - this.t0) / 1000)
        : weight * instant + (1 - weight) * this.smoothed;
    this.lastTick = now;
  }

  /** Units per second, smoothed; 0 before any work. */
  rate(): number {
    return this.smoothed !== undefined && Number.isFinite(this.smoothed) ? this.smoothed : 0;
  }

  /** "12 s", "3 min 05 s", or "?" while there is no rate to tell. */
  eta(): string {
    const remaining = Math.max(this.total - this.done, 0);
    if (remaining === 0) return '0 s';
    const rate = this.rate();
    if (rate <= 0) return '?';
    const s = Math.round(remaining / rate);
    return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  }
}

/**
 * A progress bar with rate and ETA on a terminal; plain, infrequent lines otherwise. Always on
 * stderr, so `--json` output on stdout stays machine-readable.
 */
export function startProgress(label: string, total: number, unit: string, alreadyDone = 0): Progress {
  const meter = new RateMeter(total, alreadyDone);
  const resumed = alreadyDone > 0 ? ` (${alreadyDone} already done)` : '';
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} ${unit}${resumed} | {speed} ${unit}/s | ETA {remaining}`,
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, alreadyDone, { speed: '–', remaining: '?' });
    return {
      add(n) {
        meter.add(n);
        bar.update(meter.done, { speed: meter.rate().toFixed(1), remaining: meter.eta() });
      },
      stop: () => bar.stop(),
    };
  }
  // Off a terminal, a line every PLAIN_INTERVAL_S, and the last one only to end a series already
  // begun: work shorter than that stays silent in logs.
  let last = performance.now();
  let printed = false;
  return {
    add(n) {
      meter.add(n);
      const now = performance.now();
      if (now - last >= PLAIN_INTERVAL_S * 1000 || (printed && meter.done === total)) {
        last = now;
        printed = true;
        process.stderr.write(
          `${label}: ${meter.done}/${total} ${unit}${resumed}, ${meter.rate().toFixed(1)} ${unit}/s, ETA ${meter.eta()}\n`,
        );
      }
    },
    stop() {},
  };
}
