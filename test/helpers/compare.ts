/** Float64 comparisons of float32 outputs with the float64 reference. */

/** Cosine similarity. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

function checkLengths(a: ArrayLike<number>, ref: ArrayLike<number>): void {
  if (a.length !== ref.length) throw new Error(`compared arrays differ in length (${a.length} vs ${ref.length})`);
}

/** max|a − ref| / ‖ref‖₂: the tolerance measure for embeddings. */
export function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  checkLengths(a, ref);
  let worst = 0;
  let norm = 0;
  for (let i = 0; i < ref.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - ref[i]!));
    norm += ref[i]! ** 2;
  }
  return worst / Math.sqrt(norm);
}

/** max|a − ref| / max|ref|: for [T,D] hidden states, where one embedding norm means nothing. */
export function hiddenErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  checkLengths(a, ref);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return worst / scale;
}
