/** A float32 tensor held in memory (row-major), as read from a checkpoint. */
export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** Checkpoint tensors keyed by their Hugging Face CLIP names (the canonical naming inside falip). */
export type WeightMap = Map<string, Tensor>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
