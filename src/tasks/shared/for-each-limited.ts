/**
 * Runs `work` on every item in order, at most `concurrency` at once. After the first failure no further
 * item is started, and the returned promise settles only once every started item has finished, with
 * the first error. An evaluation that fails thus stops every producer of records before its caller
 * closes the records log and releases the results folder: `Promise.all` over the items would reject
 * at once and leave the others running, still appending after another run had taken the folder.
 */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let failed: { error: unknown } | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failed) throw failed.error;
}
