import cliProgress from 'cli-progress';
import type { BenchPhase } from './run-bench.js';

export interface BenchProgress {
  onPhase(phase: BenchPhase, index: number, total: number): void;
  stop(): void;
}

/**
 * Shows which bench phase is running, on stderr so `--json` stdout stays clean: a progress bar when
 * stdout is a terminal, one plain line per phase otherwise (logs, CI).
 */
export function benchProgress(): BenchProgress {
  if (!process.stdout.isTTY) {
    return {
      onPhase: (phase, index, total) => process.stderr.write(`bench ${index + 1}/${total}: ${phase}\n`),
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: 'bench |{bar}| {value}/{total} {phase}', stream: process.stderr, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onPhase(phase, index, total) {
      if (!started) bar.start(total, index, { phase });
      else bar.update(index, { phase });
      started = true;
    },
    stop: () => bar.stop(),
  };
}
