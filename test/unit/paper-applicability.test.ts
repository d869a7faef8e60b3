import { describe, expect, it } from 'vitest';
import { matchesPaperArch, paperMismatch } from '../../src/experiments/paper-applicability.js';
import { archConfig } from '../../src/model/clip-config.js';

describe("which models' numbers stand beside the paper's", () => {
  const tiny = archConfig('tiny', 0).vision;
  const b16 = archConfig('vit-b-16', 0).vision;
  const row = { key: 'falip', methods: [{ name: 'falip', params: { alpha: 0.2 } }], options: {} };

  it("a ViT-B/16 is the paper's ViT-B/16", () => {
    expect(matchesPaperArch(b16, 'vit-b-16')).toBe(true);
    expect(matchesPaperArch(b16, 'vit-l-14')).toBe(false);
  });

  it("the tiny and demo models are not, though their grid and depth are ViT-B/16's", () => {
    // Same 224 px, patch 16 and 12 layers: only the width (64, not 768) and heads tell them apart.
    expect([tiny.imageSize, tiny.patchSize, tiny.numLayers]).toEqual([b16.imageSize, b16.patchSize, b16.numLayers]);
    expect(matchesPaperArch(tiny, 'vit-b-16')).toBe(false);
    expect(paperMismatch({ vision: tiny, randomWeights: null }, 'vit-b-16', row, row)).toBe(
      `its model has patch 16, 224 px, 12 layers of width ${tiny.hiddenSize}, ${tiny.numHeads} heads, the paper's is vit-b-16`,
    );
    expect(paperMismatch({ vision: b16, randomWeights: null }, 'vit-b-16', row, row)).toBeUndefined();
  });
});
