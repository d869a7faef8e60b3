import { AsyncLocalStorage } from 'node:async_hooks';

/** Work done so far, told in units; `stop` ends the display. */
export interface WorkProgress {
  add(n: number): void;
  stop(): void;
}

/** Starts a display of `total` units of one kind of work (the CLI's progress bar or plain lines). */
export type ProgressFactory = (label: string, total: number, unit: string) => WorkProgress;

const scope = new AsyncLocalStorage<ProgressFactory>();

const SILENT: WorkProgress = { add: () => undefined, stop: () => undefined };

/**
 * Runs `fn` with long loops deep inside it (an import's header reads, a check's decodes) showing
 * progress through `factory`; outside such a scope they stay silent. A scope rather than a parameter,
 * so the dozen importers need not each carry the CLI's display through their signatures.
 */
export function withWorkProgress<T>(factory: ProgressFactory, fn: () => Promise<T>): Promise<T> {
  return scope.run(factory, fn);
}

/** A display for `total` units when a command asked for one and the work is not trivial; silent otherwise. */
export function workProgress(label: string, total: number, unit: string): WorkProgress {
  const factory = scope.getStore();
  return factory && total > 0 ? factory(label, total, unit) : SILENT;
}

/** `fn`, telling `progress` of each call that finishes. */
export function counted<A extends unknown[], T>(
  progress: WorkProgress,
  fn: (...args: A) => Promise<T>,
): (...args: A) => Promise<T> {
  return async (...args) => {
    const out = await fn(...args);
    progress.add(1);
    return out;
  };
}
