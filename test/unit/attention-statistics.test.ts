/**
 * The attention statistics and the foreground fractions on hand-computed cases: a 2×2 patch grid
 * (32-px input, 16-px patches), one layer and head, with and without one prompt token.
 */
import { describe, expect, it } from 'vitest';
import { headStatistics, meanStatistics, tokenCentre } from '../../src/analysis/attention-statistics.js';
import { boxForeground, maskForeground } from '../../src/analysis/foreground-patches.js';
import { inputGeometry } from '../../src/image/input-view.js';
import { archConfig, type VisionConfig } from '../../src/model/clip-config.js';

const v: VisionConfig = { ...archConfig('tiny', 0).vision, imageSize: 32, patchSize: 16, numLayers: 1, numHeads: 1 };

// Tokens: 0 CLS, 1..4 patches at (8,8), (24,8), (8,24), (24,24), 5 a prompt placed at (8,40).
const WITH_PROMPT = [
  [0.2, 0.1, 0.2, 0.1, 0.2, 0.2],
  [0, 0.5, 0.5, 0, 0, 0],
  [0.5, 0, 0, 0, 0.5, 0],
  [0, 0, 0.5, 0, 0, 0.5],
  [0, 0, 0, 0, 1, 0],
  [1, 0, 0, 0, 0, 0],
];
const H0 = -(4 * 0.2 * Math.log(0.2) + 2 * 0.1 * Math.log(0.1));

describe('headStatistics', () => {
  it('places patches on their cells and prompt tokens where the grid would continue', () => {
    expect(tokenCentre(1, 2, 16)).toEqual([8, 8]);
    expect(tokenCentre(4, 2, 16)).toEqual([24, 24]);
    expect(tokenCentre(5, 2, 16)).toEqual([8, 40]);
    expect(tokenCentre(197, 14, 16)).toEqual([8, 232]); // ViT-B/16's first prompt token
  });

  it('computes every statistic of a hand-made attention with a prompt token', () => {
    const [s] = headStatistics(
      { imageEmbeds: new Float32Array(), probs: Float32Array.from(WITH_PROMPT.flat()), tokens: 6, promptTokens: 1 },
      v,
      Float64Array.of(1, 0.5, 0, 0),
    );
    const f = (x: number) => Math.fround(x);
    // Rows 0..4 (the image's), the prompt's own row left out.
    expect(s!.entropy_all).toBeCloseTo((H0 + 3 * Math.log(2)) / 5, 6);
    expect(s!.entropy_cls).toBeCloseTo(H0, 6);
    // Patch queries: 1 → (0·0.5 + 16·0.5) = 8; 2 → 16 (patch 4, 16 px below); 3 → √512 (patch 2); 4 → 0.
    expect(s!.distance_wo_prompt).toBeCloseTo((8 + 16 + Math.sqrt(512) + 0) / 4, 5);
    // With the prompt: query 3 splits evenly between patch 2 (√512) and the prompt at (8,40), 16 px away.
    expect(s!.distance_w_prompt).toBeCloseTo((8 + 16 + (Math.sqrt(512) + 16) / 2 + 0) / 4, 5);
    expect(s!.cls_prompt_mass).toBeCloseTo(f(0.2), 7);
    // CLS on patches 0.6; on the foreground 0.1·1 + 0.2·0.5.
    expect(s!.cls_foreground_share).toBeCloseTo(0.2 / 0.6, 6);
  });

  it('without prompts W equals W/O and the prompt mass is 0', () => {
    const rows = [
      [0.5, 0.5, 0, 0, 0],
      [0, 0, 0, 0, 1],
      [0, 0.25, 0.25, 0.25, 0.25],
      [0.2, 0.2, 0.2, 0.2, 0.2],
      [0, 0, 0, 0, 1],
    ];
    const [s] = headStatistics(
      { imageEmbeds: new Float32Array(), probs: Float32Array.from(rows.flat()), tokens: 5, promptTokens: 0 },
      v,
      Float64Array.of(1, 1, 1, 1),
    );
    expect(s!.cls_prompt_mass).toBe(0);
    expect(s!.distance_w_prompt).toBe(s!.distance_wo_prompt);
    // 1 → patch 4, √512; 2 → (16 + 0 + √512 + 16)/4; 3 → 0.2·(√512 + 16 + 0 + 16)/0.8; 4 → 0.
    const expected = (Math.sqrt(512) + (32 + Math.sqrt(512)) / 4 + (Math.sqrt(512) + 32) / 4 + 0) / 4;
    expect(s!.distance_wo_prompt).toBeCloseTo(expected, 5);
    expect(s!.cls_foreground_share).toBeCloseTo(1, 7);
    expect(s!.entropy_cls).toBeCloseTo(Math.log(2), 6);
  });

  it('refuses attention of another size', () => {
    const probs = { imageEmbeds: new Float32Array(), probs: new Float32Array(36), tokens: 6, promptTokens: 0 };
    expect(() => headStatistics(probs, v, new Float64Array(4))).toThrow('expected 5 + prompts');
  });

  it('averages images head by head', () => {
    const one = {
      entropy_all: 1,
      entropy_cls: 2,
      distance_wo_prompt: 3,
      distance_w_prompt: 4,
      cls_prompt_mass: 0,
      cls_foreground_share: 0.5,
    };
    const two = { ...one, entropy_all: 3, cls_foreground_share: 1 };
    expect(meanStatistics([[one], [two]])).toEqual([{ ...one, entropy_all: 2, cls_foreground_share: 0.75 }]);
  });
});

describe('foreground fractions', () => {
  it('of a box: the share of each patch cell it covers in the input', () => {
    // A 64×32 image squashed to 32×32: x halves, y stays.
    const squash = inputGeometry('squash', 64, 32, 32);
    expect([...boxForeground([0, 0, 32, 16], { width: 64, height: 32 }, squash, v)]).toEqual([1, 0, 0, 0]);
    expect([...boxForeground([16, 8, 32, 16], { width: 64, height: 32 }, squash, v)]).toEqual([0.25, 0.25, 0.25, 0.25]);
    // The centre crop keeps x 16..48 of the 64×32 image: a box on x 0..16 is cut away.
    const crop = inputGeometry('center-crop', 64, 32, 32);
    expect([...boxForeground([0, 0, 16, 32], { width: 64, height: 32 }, crop, v)]).toEqual([0, 0, 0, 0]);
    expect([...boxForeground([16, 0, 8, 32], { width: 64, height: 32 }, crop, v)]).toEqual([0.5, 0, 0.5, 0]);
  });

  it('of a mask: the share of each patch cell whose pixels land on foreground', () => {
    // A 64×32 mask, foreground where x < 32 (the left half).
    const data = new Uint8Array(64 * 32);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) data[y * 64 + x] = 1;
    const mask = { width: 64, height: 32, data };
    expect([...maskForeground(mask, inputGeometry('squash', 64, 32, 32), v)]).toEqual([1, 0, 1, 0]);
    // Centre crop: input x 0..32 is original x 16..48; foreground up to 32 → the left column of patches.
    expect([...maskForeground(mask, inputGeometry('center-crop', 64, 32, 32), v)]).toEqual([1, 0, 1, 0]);
    // One foreground row of 16 pixels in the right half of the crop's top patches: 16 of 256 pixels.
    const thin = new Uint8Array(64 * 32);
    for (let x = 32; x < 48; x++) thin[x] = 1;
    expect([
      ...maskForeground({ width: 64, height: 32, data: thin }, inputGeometry('center-crop', 64, 32, 32), v),
    ]).toEqual([0, 16 / 256, 0, 0]);
  });
});
