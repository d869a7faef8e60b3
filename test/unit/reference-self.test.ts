/**
 * Self-tests of the float64 reference (test/reference/clip-reference.ts), on hand-made weights only:
 * the oracle must be checked by something other than the code it will be compared with.
 */
import { describe, expect, it } from 'vitest';
import type { ClipConfig } from '../../src/model/clip-config.js';
import type { Tensor, WeightMap } from '../../src/model/tensor.js';
import {
  erfRef,
  projectClsRef,
  textForwardRef,
  twoStreamForwardRef,
  unleashRef,
  visionForwardRef,
} from '../reference/clip-reference.js';

// ---------------------------------------------------------------------------------------------
// Fixtures

/** mulberry32: a tiny seeded PRNG so the random weights are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Image 32, patch 16 → 2×2 grid, 5 tokens; width 8, 2 heads, 2 layers. */
const micro: ClipConfig = {
  vision: {
    hiddenSize: 8,
    intermediateSize: 16,
    numLayers: 2,
    numHeads: 2,
    layerNormEps: 1e-5,
    patchSize: 16,
    imageSize: 32,
  },
  text: {
    hiddenSize: 8,
    intermediateSize: 16,
    numLayers: 2,
    numHeads: 2,
    layerNormEps: 1e-5,
    contextLength: 77,
    vocabSize: 10,
  },
  projectionDim: 4,
  hiddenAct: 'quick_gelu',
};
const T = 5,
  D = 8,
  H = 2,
  L = 2;

function randomWeights(cfg: ClipConfig, seed: number): WeightMap {
  const r = rng(seed);
  const w: WeightMap = new Map();
  const put = (name: string, shape: number[], scale = 0.5, offset = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = offset + scale * (2 * r() - 1);
    w.set(name, { shape, data });
  };
  const tower = (prefix: string, d: number, inter: number, layers: number) => {
    for (let l = 0; l < layers; l++) {
      const p = `${prefix}.encoder.layers.${l}`;
      for (const ln of ['layer_norm1', 'layer_norm2']) {
        put(`${p}.${ln}.weight`, [d], 0.2, 1);
        put(`${p}.${ln}.bias`, [d], 0.1);
      }
      for (const pr of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
        put(`${p}.self_attn.${pr}.weight`, [d, d], 0.8);
        put(`${p}.self_attn.${pr}.bias`, [d], 0.2);
      }
      put(`${p}.mlp.fc1.weight`, [inter, d], 0.6);
      put(`${p}.mlp.fc1.bias`, [inter], 0.2);
      put(`${p}.mlp.fc2.weight`, [d, inter], 0.4);
      put(`${p}.mlp.fc2.bias`, [d], 0.2);
    }
  };
  const v = cfg.vision;
  const tv = (v.imageSize / v.patchSize) ** 2 + 1;
  put('vision_model.embeddings.class_embedding', [v.hiddenSize]);
  put('vision_model.embeddings.patch_embedding.weight', [v.hiddenSize, 3, v.patchSize, v.patchSize], 0.05);
  put('vision_model.embeddings.position_embedding.weight', [tv, v.hiddenSize], 0.3);
  put('vision_model.pre_layrnorm.weight', [v.hiddenSize], 0.2, 1);
  put('vision_model.pre_layrnorm.bias', [v.hiddenSize], 0.1);
  tower('vision_model', v.hiddenSize, v.intermediateSize, v.numLayers);
  put('vision_model.post_layernorm.weight', [v.hiddenSize], 0.2, 1);
  put('vision_model.post_layernorm.bias', [v.hiddenSize], 0.1);
  put('visual_projection.weight', [cfg.projectionDim, v.hiddenSize]);
  const t = cfg.text;
  put('text_model.embeddings.token_embedding.weight', [t.vocabSize, t.hiddenSize]);
  put('text_model.embeddings.position_embedding.weight', [t.contextLength, t.hiddenSize], 0.3);
  tower('text_model', t.hiddenSize, t.intermediateSize, t.numLayers);
  put('text_model.final_layer_norm.weight', [t.hiddenSize], 0.2, 1);
  put('text_model.final_layer_norm.bias', [t.hiddenSize], 0.1);
  put('text_projection.weight', [cfg.projectionDim, t.hiddenSize]);
  return w;
}

function randomPixels(seed: number, size = 32): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: 3 * size * size }, () => 2 * r() - 1);
}

function randomBias(seed: number, n: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => 3 * (2 * r() - 1));
}

const W = randomWeights(micro, 1);
const px = randomPixels(2);
const px2 = randomPixels(3);

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12) {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  expect(worst).toBeLessThanOrEqual(tol);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** A weight as plain numbers, for the test-side recomputations. */
const get = (w: WeightMap, name: string): number[] => Array.from((w.get(name) as Tensor).data);

// Test-side one-row helpers (independent of the reference's own loops).
function lnRow(x: number[], g: number[], b: number[], eps: number): number[] {
  const mean = x.reduce((s, v) => s + v, 0) / x.length;
  const variance = x.reduce((s, v) => s + (v - mean) * (v - mean), 0) / x.length;
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i]! + b[i]!);
}
function matVec(Wt: number[], b: number[] | null, x: number[], out: number): number[] {
  const inn = x.length;
  return Array.from({ length: out }, (_, o) => x.reduce((s, v, k) => s + v * Wt[o * inn + k]!, b ? b[o]! : 0));
}

// ---------------------------------------------------------------------------------------------

describe('reference CLIP forward (self-consistency)', () => {
  /**
   * Layer 0's CLS row recomputed in the test from the equations, one row at a time: optionally with the
   * attention input scaled per token, or with given CLS attention probabilities (per head) replacing its own.
   */
  function layer0Cls(x0: Float64Array, o: { scale?: ArrayLike<number>; probs?: number[][] } = {}) {
    const p = 'vision_model.encoder.layers.0';
    const eps = micro.vision.layerNormEps;
    const rows = Array.from({ length: T }, (_, t) => Array.from(x0.subarray(t * D, (t + 1) * D)));
    const a = rows.map((x, t) =>
      lnRow(x, get(W, `${p}.layer_norm1.weight`), get(W, `${p}.layer_norm1.bias`), eps).map(
        (v) => v * (o.scale?.[t] ?? 1),
      ),
    );
    const lin = (name: string, x: number[]) =>
      matVec(get(W, `${p}.self_attn.${name}.weight`), get(W, `${p}.self_attn.${name}.bias`), x, D);
    const q0 = lin('q_proj', a[0]!);
    const ks = a.map((x) => lin('k_proj', x));
    const vs = a.map((x) => lin('v_proj', x));
    const dh = D / H;
    const o0: number[] = [];
    const probs: number[][] = [];
    for (let h = 0; h < H; h++) {
      const f = (vec: number[]) => vec.slice(h * dh, (h + 1) * dh);
      const s = ks.map((k) => f(q0).reduce((acc, qv, i) => acc + qv * f(k)[i]!, 0) / Math.sqrt(dh));
      const e = s.map((v) => Math.exp(v));
      const z = e.reduce((x, y) => x + y, 0);
      probs.push(e.map((v) => v / z));
      const used = o.probs?.[h] ?? probs[h];
      for (let i = 0; i < dh; i++) o0.push(used!.reduce((acc, pj, j) => acc + pj * f(vs[j]!)[i]!, 0));
    }
    const attn0 = matVec(get(W, `${p}.self_attn.out_proj.weight`), get(W, `${p}.self_attn.out_proj.bias`), o0, D);
    // x1[0] = x0[0] + attention + MLP(LN2(x0[0] + attention)).
    const y = rows[0]!.map((v, d) => v + attn0[d]!);
    const m = lnRow(y, get(W, `${p}.layer_norm2.weight`), get(W, `${p}.layer_norm2.bias`), eps);
    const hid = matVec(get(W, `${p}.mlp.fc1.weight`), get(W, `${p}.mlp.fc1.bias`), m, 16).map(
      (v) => v / (1 + Math.exp(-1.702 * v)),
    );
    const mlp = matVec(get(W, `${p}.mlp.fc2.weight`), get(W, `${p}.mlp.fc2.bias`), hid, D);
    return { probs, attn0, out: y.map((v, d) => v + mlp[d]!) };
  }

  it('embedding: patch (r, c) is token 1 + r·G + c, class token first, then pre_layrnorm', () => {
    const x0 = visionForwardRef(micro, W, px, { endLayer: 0 }).hidden; // embedding + pre_layrnorm only
    const Wp = get(W, 'vision_model.embeddings.patch_embedding.weight');
    const pos = get(W, 'vision_model.embeddings.position_embedding.weight');
    const rowOf = (t: number) => {
      const e = pos.slice(t * D, (t + 1) * D);
      if (t === 0) return e.map((v, d) => v + get(W, 'vision_model.embeddings.class_embedding')[d]!);
      const r = Math.floor((t - 1) / 2),
        c = (t - 1) % 2; // G = 2
      return e.map((v, d) => {
        let s = v;
        for (let ch = 0; ch < 3; ch++)
          for (let i = 0; i < 16; i++)
            for (let j = 0; j < 16; j++) {
              s += Wp[d * 768 + ch * 256 + i * 16 + j]! * px[ch * 1024 + (16 * r + i) * 32 + 16 * c + j]!;
            }
        return s;
      });
    };
    for (let t = 0; t < T; t++) {
      const want = lnRow(
        rowOf(t),
        get(W, 'vision_model.pre_layrnorm.weight'),
        get(W, 'vision_model.pre_layrnorm.bias'),
        micro.vision.layerNormEps,
      );
      expectClose(x0.subarray(t * D, (t + 1) * D), want);
    }
  });

  it('per-head CLS outputs recompose the attention output; the MLP closes the residual (layer 0)', () => {
    const x0 = visionForwardRef(micro, W, px, { endLayer: 0 }).hidden;
    const r1 = visionForwardRef(micro, W, px, { endLayer: 1 });
    const want = layer0Cls(x0);
    want.probs.forEach((prob, h) => {
      expectClose(r1.clsAttn.subarray(h * T, (h + 1) * T), prob);
    });
    const bo = get(W, 'vision_model.encoder.layers.0.self_attn.out_proj.bias');
    const recomposed = bo.map(
      (b, d) => b + Array.from({ length: H }, (_, h) => r1.clsHeadOut[h * D + d]).reduce((x, y) => x! + y!, 0)!,
    );
    expectClose(recomposed, want.attn0);
    expectClose(r1.clsResidual, want.out);
    // Layer 1 was not run: its attention records stay zero.
    expect(r1.clsAttn.subarray(H * T).every((v) => v === 0)).toBe(true);
    expect(r1.clsHeadOut.subarray(H * D).every((v) => v === 0)).toBe(true);
  });

  it("'attn-input' token scaling scales the attention input (q, k and v) only", () => {
    const s = [1, 0.25, 0, 2, 1];
    const x0 = visionForwardRef(micro, W, px, { endLayer: 0 }).hidden;
    const r1 = visionForwardRef(micro, W, px, {
      endLayer: 1,
      tokenScale: Float64Array.from(s),
      tokenScaleAt: 'attn-input',
      tokenScaleLayers: [true, false],
    });
    const want = layer0Cls(x0, { scale: s });
    want.probs.forEach((prob, h) => {
      expectClose(r1.clsAttn.subarray(h * T, (h + 1) * T), prob);
    });
    expectClose(r1.clsResidual, want.out);
  });

  it("two streams: the out stream applies the probs stream's CLS probabilities to its own v (1 layer)", () => {
    const one: ClipConfig = { ...micro, vision: { ...micro.vision, numLayers: 1 } };
    const probsP = visionForwardRef(one, W, px2).clsAttn; // the probs stream is unmodified
    const x0 = visionForwardRef(one, W, px, { endLayer: 0 }).hidden;
    const want = layer0Cls(x0, { probs: [0, 1].map((h) => Array.from(probsP.subarray(h * T, (h + 1) * T))) });
    expectClose(
      twoStreamForwardRef(one, W, px, px2, { swapLayers: [true] }),
      projectClsRef(one, W, Float64Array.from(want.out)),
    );
  });

  it('CLS attention rows are probability distributions', () => {
    const r = visionForwardRef(micro, W, px, {
      attnBias: randomBias(4, T * T),
      biasGate: [
        [1, 0.5],
        [0, 2],
      ],
    });
    expect(r.clsAttn.length).toBe(L * H * T);
    for (let lh = 0; lh < L * H; lh++) {
      const row = r.clsAttn.subarray(lh * T, (lh + 1) * T);
      expect(row.every((v) => v > 0)).toBe(true);
      expect(Math.abs(row.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-14);
    }
    expectClose(r.clsResidual, r.hidden.subarray(0, D), 0);
    expectClose(r.imageEmbeds, projectClsRef(micro, W, r.clsResidual), 0);
  });

  it('a prefix run then a suffix run from its hidden state equals the full run', () => {
    const opts = {
      attnBias: randomBias(5, H * T * T),
      biasGate: [
        [1, -1],
        [0.5, 2],
      ],
      tokenScale: Float64Array.from([1, 0.5, 2, 1, 0]),
    };
    const full = visionForwardRef(micro, W, px, opts);
    const pre = visionForwardRef(micro, W, px, { ...opts, endLayer: 1 });
    const post = visionForwardRef(micro, W, px, { ...opts, hiddenIn: pre.hidden, startLayer: 1 });
    expectClose(post.hidden, full.hidden);
    expectClose(post.imageEmbeds, full.imageEmbeds);
    expectClose(pre.clsAttn.subarray(0, H * T), full.clsAttn.subarray(0, H * T));
    expectClose(post.clsAttn.subarray(H * T), full.clsAttn.subarray(H * T));
    expectClose(post.clsHeadOut.subarray(H * D), full.clsHeadOut.subarray(H * D));
  });

  it('a bias gated to zero changes nothing; a gated bias changes the output and steers attention', () => {
    const plain = visionForwardRef(micro, W, px);
    const bias = randomBias(6, T * T);
    const zero = visionForwardRef(micro, W, px, {
      attnBias: bias,
      biasGate: [
        [0, 0],
        [0, 0],
      ],
    });
    expectClose(zero.imageEmbeds, plain.imageEmbeds, 0);
    // A −∞ bias with a zero gate must not poison the logits with 0·∞ = NaN.
    const inf = visionForwardRef(micro, W, px, {
      attnBias: new Float64Array(T * T).fill(-Infinity),
      biasGate: [
        [0, 0],
        [0, 0],
      ],
    });
    expectClose(inf.imageEmbeds, plain.imageEmbeds, 0);
    const gated = visionForwardRef(micro, W, px, {
      attnBias: bias,
      biasGate: [
        [1, 1],
        [1, 1],
      ],
    });
    expect(maxDiff(gated.imageEmbeds, plain.imageEmbeds)).toBeGreaterThan(1e-3);
    // A shared bias equals the same bias repeated per head.
    const perHead = new Float64Array(H * T * T);
    perHead.set(bias, 0);
    perHead.set(bias, T * T);
    expectClose(
      visionForwardRef(micro, W, px, {
        attnBias: perHead,
        biasGate: [
          [1, 1],
          [1, 1],
        ],
      }).imageEmbeds,
      gated.imageEmbeds,
      0,
    );
    // Only the gated head of layer 1 feels it: a huge negative bias on key 3 zeroes that head's CLS→3 attention.
    const block3 = new Float64Array(T * T);
    for (let i = 0; i < T; i++) block3[i * T + 3] = -1000;
    const steered = visionForwardRef(micro, W, px, { attnBias: block3, biasGate: [[], [0, 1]] });
    expect(steered.clsAttn[(1 * H + 1) * T + 3]).toBeLessThan(1e-100);
    expect(steered.clsAttn[(1 * H + 0) * T + 3]).toBeGreaterThan(1e-6);
    expectClose(steered.clsAttn.subarray(0, H * T), plain.clsAttn.subarray(0, H * T), 0); // layer 0 untouched
  });

  it('token scaling: all-ones is a no-op; residual and attn-input placements differ', () => {
    const plain = visionForwardRef(micro, W, px);
    const ones = visionForwardRef(micro, W, px, {
      tokenScale: new Float64Array(T).fill(1),
      tokenScaleLayers: [true, true],
    });
    expectClose(ones.imageEmbeds, plain.imageEmbeds, 0);
    const s = Float64Array.from([1, 0, 1, 0.5, 1]);
    const res = visionForwardRef(micro, W, px, {
      tokenScale: s,
      tokenScaleLayers: [false, true],
      tokenScaleAt: 'residual',
    });
    const att = visionForwardRef(micro, W, px, {
      tokenScale: s,
      tokenScaleLayers: [false, true],
      tokenScaleAt: 'attn-input',
    });
    expect(maxDiff(res.imageEmbeds, plain.imageEmbeds)).toBeGreaterThan(1e-4);
    expect(maxDiff(att.imageEmbeds, plain.imageEmbeds)).toBeGreaterThan(1e-4);
    expect(maxDiff(att.imageEmbeds, res.imageEmbeds)).toBeGreaterThan(1e-4);
    // 'residual' at layer 1 is literally scaling the residual stream between the layers.
    const pre = visionForwardRef(micro, W, px, { endLayer: 1 });
    const scaled = pre.hidden.map((v, i) => v * s[Math.floor(i / D)]!);
    expectClose(visionForwardRef(micro, W, px, { hiddenIn: scaled, startLayer: 1 }).imageEmbeds, res.imageEmbeds);
    // 'attn-input' leaves the residual alone, so token 1's row (scale 0) keeps its layer-0 value underneath,
    // while 'residual' zeroes it before layer 1 adds to it.
    expect(maxDiff(att.hidden.subarray(D, 2 * D), res.hidden.subarray(D, 2 * D))).toBeGreaterThan(1e-4);
  });

  it('two streams: no swaps, or identical pixels, give the plain forward of the out pixels', () => {
    const plain = visionForwardRef(micro, W, px);
    expectClose(twoStreamForwardRef(micro, W, px, px2, { swapLayers: [false, false] }), plain.imageEmbeds, 0);
    // Swapping every layer still keeps the out stream's own v (else it would be the probs pixels' forward).
    const all = twoStreamForwardRef(micro, W, px, px2, { swapLayers: [true, true] });
    expect(maxDiff(all, visionForwardRef(micro, W, px2).imageEmbeds)).toBeGreaterThan(1e-4);
    expect(maxDiff(all, plain.imageEmbeds)).toBeGreaterThan(1e-4);
    expectClose(twoStreamForwardRef(micro, W, px, px, { swapLayers: [true, true] }), plain.imageEmbeds, 0);
    const swapped = twoStreamForwardRef(micro, W, px, px2, { swapLayers: [false, true] });
    expect(maxDiff(swapped, plain.imageEmbeds)).toBeGreaterThan(1e-4);
    // With identical pixels and all layers swapped, a bias on the probs stream is the biased forward.
    const bias = randomBias(7, T * T);
    const gate = [
      [1, 1],
      [0.5, 0],
    ];
    expectClose(
      twoStreamForwardRef(micro, W, px, px, { swapLayers: [true, true], attnBias: bias, biasGate: gate }),
      visionForwardRef(micro, W, px, { attnBias: bias, biasGate: gate }).imageEmbeds,
      0,
    );
    // ...and with no swaps the probs stream's bias cannot reach the out stream.
    expectClose(
      twoStreamForwardRef(micro, W, px, px, { swapLayers: [false, false], attnBias: bias, biasGate: gate }),
      plain.imageEmbeds,
      0,
    );
  });

  it('unleash: weight 1 (or no layers) is the prompted embedding; weight w adds (w−1)(G′−G)', () => {
    const orig = visionForwardRef(micro, W, px);
    const prompted = visionForwardRef(micro, W, px, {
      attnBias: randomBias(8, T * T),
      biasGate: [
        [1, 1],
        [1, 1],
      ],
    });
    expectClose(unleashRef(micro, W, orig, prompted, [0, 1], [1, 1]), prompted.imageEmbeds);
    expectClose(unleashRef(micro, W, orig, prompted, [], [2, 3]), prompted.imageEmbeds);
    expectClose(projectClsRef(micro, W, prompted.clsResidual), prompted.imageEmbeds, 0);
    const cls = Array.from(prompted.clsResidual, (v, d) => {
      const l = 1,
        h = 0; // weight 2 on head 0 of layer 1 only
      return v + (prompted.clsHeadOut[(l * H + h) * D + d]! - orig.clsHeadOut[(l * H + h) * D + d]!);
    });
    expectClose(unleashRef(micro, W, orig, prompted, [1], [2, 1]), projectClsRef(micro, W, Float64Array.from(cls)));
    expect(maxDiff(unleashRef(micro, W, orig, prompted, [1], [2, 1]), prompted.imageEmbeds)).toBeGreaterThan(1e-6);
  });

  it('text: tokens after EOT cannot matter (causal); earlier tokens do', () => {
    const ids = [8, 3, 5, 9];
    const base = textForwardRef(micro, W, ids);
    expect(base.length).toBe(micro.projectionDim);
    // Appended "padding" with smaller ids keeps EOT (the argmax) at position 3, and causality hides it.
    expectClose(textForwardRef(micro, W, [...ids, 0, 0, 4]), base, 0);
    expect(maxDiff(textForwardRef(micro, W, [7, 3, 5, 9]), base)).toBeGreaterThan(1e-4);
    expect(maxDiff(textForwardRef(micro, W, [8, 3, 6, 9]), base)).toBeGreaterThan(1e-4);
    // Ties: the first largest id is pooled, so a later duplicate of the max is invisible.
    expectClose(textForwardRef(micro, W, [8, 3, 5, 9, 9]), base, 0);
  });

  it("text prompts: a context equal to the replaced tokens' embeddings is a no-op; a deep prompt acts only from its layer", () => {
    const ids = [8, 3, 5, 2, 9];
    const tok = get(W, 'text_model.embeddings.token_embedding.weight');
    const own = [...tok.slice(3 * D, 4 * D), ...tok.slice(5 * D, 6 * D)];
    const base = textForwardRef(micro, W, ids);
    expectClose(textForwardRef(micro, W, ids, { ctx: own, deep: new Map() }), base, 0);
    const other = randomBias(7, 2 * D);
    const spliced = textForwardRef(micro, W, ids, { ctx: other, deep: new Map() });
    expect(maxDiff(spliced, base)).toBeGreaterThan(1e-4);
    // Positions 1..m are the context: ids there are never read.
    expectClose(textForwardRef(micro, W, [8, 1, 1, 2, 9], { ctx: other, deep: new Map() }), spliced, 0);
    // A deep prompt at layer 1 replaces what layer 0 made of the context, so layer 0's context no longer matters
    // at those positions, only through the tokens after them that attended to it.
    const deep = new Map([[1, randomBias(8, 2 * D)]]);
    expect(maxDiff(textForwardRef(micro, W, ids, { ctx: other, deep }), spliced)).toBeGreaterThan(1e-4);
    // A deep prompt of layer 0 is the context's job: it is ignored.
    expectClose(textForwardRef(micro, W, ids, { ctx: other, deep: new Map([[0, randomBias(9, 2 * D)]]) }), spliced, 0);
  });

  it('vision prompts: keys masked out with −∞ leave the image tokens as without prompts; the masks widen the bias', () => {
    const n = 2;
    const Tp = T + n;
    const shallow = randomBias(10, n * D);
    const deep = new Map([[1, randomBias(11, n * D)]]);
    const blind = new Float64Array(Tp * Tp);
    for (let i = 0; i < Tp; i++) for (let j = T; j < Tp; j++) blind[i * Tp + j] = -Infinity;
    const ones = Array.from({ length: L }, () => Array(H).fill(1) as number[]);
    const prompted = visionForwardRef(micro, W, px, { prompts: { shallow, deep }, attnBias: blind, biasGate: ones });
    const plain = visionForwardRef(micro, W, px);
    expectClose(prompted.hidden.slice(0, T * D), plain.hidden, 1e-12);
    expectClose(prompted.imageEmbeds, plain.imageEmbeds, 1e-12);
    // Without the −∞ the prompts change the image tokens.
    expect(
      maxDiff(visionForwardRef(micro, W, px, { prompts: { shallow, deep } }).imageEmbeds, plain.imageEmbeds),
    ).toBeGreaterThan(1e-4);

    // A T×T bias is widened with zero prompt rows and columns ('zero'), or with the plane's peak in the
    // CLS row's prompt columns ('cls'), as these hand-widened biases say.
    const bias = randomBias(12, T * T).map((b) => Math.abs(b));
    let peak = 0;
    for (const b of bias) peak = Math.max(peak, b);
    const widened = (cls: boolean) => {
      const out = new Float64Array(Tp * Tp);
      for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) out[i * Tp + j] = bias[i * T + j]!;
      if (cls) for (let j = T; j < Tp; j++) out[j] = peak;
      return out;
    };
    const gate = [Array(H).fill(0) as number[], Array(H).fill(1) as number[]];
    for (const mask of ['zero', 'cls'] as const) {
      const implicit = visionForwardRef(micro, W, px, {
        prompts: { shallow, deep, mask },
        attnBias: bias,
        biasGate: gate,
      });
      const explicit = visionForwardRef(micro, W, px, {
        prompts: { shallow, deep },
        attnBias: widened(mask === 'cls'),
        biasGate: gate,
      });
      expectClose(implicit.imageEmbeds, explicit.imageEmbeds, 0);
    }
  });

  it('erf matches known values', () => {
    const known: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
      [-1.5, -0.9661051464753108],
      [5, 0.9999999999984626],
      [10, 1],
    ];
    for (const [x, e] of known) expect(Math.abs(erfRef(x) - e)).toBeLessThan(2e-16 + 1e-15 * Math.abs(e));
  });
});

// ---------------------------------------------------------------------------------------------
// (8) One layer, one head, width 2, two tokens: every number written out as scalars.

describe('reference CLIP forward (hand-computed 1-layer, 1-head case)', () => {
  const eps = 0.25; // large, so LayerNorm of a 2-vector is not just ±1
  const cfgFor = (act: ClipConfig['hiddenAct']): ClipConfig => ({
    vision: {
      hiddenSize: 2,
      intermediateSize: 1,
      numLayers: 1,
      numHeads: 1,
      layerNormEps: eps,
      patchSize: 1,
      imageSize: 1,
    },
    text: {
      hiddenSize: 2,
      intermediateSize: 1,
      numLayers: 1,
      numHeads: 1,
      layerNormEps: eps,
      contextLength: 77,
      vocabSize: 4,
    },
    projectionDim: 1,
    hiddenAct: act,
  });

  // Block weights (shared by both towers), 2×2 matrices as [[w00, w01], [w10, w11]] rows = outputs.
  const ln1 = { g: [1.5, 0.5], b: [0.1, -0.2] };
  const Wq = [
      [1, 0.5],
      [-0.5, 1],
    ],
    bq = [0.1, 0];
  const Wk = [
      [0.5, -1],
      [1, 0.25],
    ],
    bk = [0, 0.2];
  const Wv = [
      [2, 0],
      [0.5, -1],
    ],
    bv = [0.3, -0.1];
  const Wo = [
      [1, -0.5],
      [0.25, 1],
    ],
    bo = [0.05, -0.05];
  const ln2 = { g: [0.8, 1.2], b: [0, 0.3] };
  const W1 = [0.7, -1.1],
    b1 = 0.2; // fc1: [1,2]
  const W2 = [1.3, -0.6],
    b2 = [0.1, 0.05]; // fc2: [2,1]
  const lnF = { g: [1.1, 0.9], b: [-0.1, 0.2] }; // post_layernorm / final_layer_norm
  const Wproj = [0.6, -0.8]; // projection [1,2]

  function mapFor(): WeightMap {
    const w: WeightMap = new Map();
    const put = (name: string, shape: number[], vals: number[]) =>
      w.set(name, { shape, data: Float32Array.from(vals) });
    for (const tower of ['vision_model', 'text_model']) {
      const p = `${tower}.encoder.layers.0`;
      put(`${p}.layer_norm1.weight`, [2], ln1.g);
      put(`${p}.layer_norm1.bias`, [2], ln1.b);
      put(`${p}.self_attn.q_proj.weight`, [2, 2], Wq.flat());
      put(`${p}.self_attn.q_proj.bias`, [2], bq);
      put(`${p}.self_attn.k_proj.weight`, [2, 2], Wk.flat());
      put(`${p}.self_attn.k_proj.bias`, [2], bk);
      put(`${p}.self_attn.v_proj.weight`, [2, 2], Wv.flat());
      put(`${p}.self_attn.v_proj.bias`, [2], bv);
      put(`${p}.self_attn.out_proj.weight`, [2, 2], Wo.flat());
      put(`${p}.self_attn.out_proj.bias`, [2], bo);
      put(`${p}.layer_norm2.weight`, [2], ln2.g);
      put(`${p}.layer_norm2.bias`, [2], ln2.b);
      put(`${p}.mlp.fc1.weight`, [1, 2], W1);
      put(`${p}.mlp.fc1.bias`, [1], [b1]);
      put(`${p}.mlp.fc2.weight`, [2, 1], W2);
      put(`${p}.mlp.fc2.bias`, [2], b2);
    }
    put('vision_model.embeddings.class_embedding', [2], [0.5, -0.5]);
    // Patch kernel [2,3,1,1]: feature 0 = red, feature 1 = green + 0.5·blue.
    put('vision_model.embeddings.patch_embedding.weight', [2, 3, 1, 1], [1, 0, 0, 0, 1, 0.5]);
    put('vision_model.embeddings.position_embedding.weight', [2, 2], [0.1, 0, 0, 0.2]);
    put('vision_model.pre_layrnorm.weight', [2], [1, 2]);
    put('vision_model.pre_layrnorm.bias', [2], [0, 0.1]);
    put('vision_model.post_layernorm.weight', [2], lnF.g);
    put('vision_model.post_layernorm.bias', [2], lnF.b);
    put('visual_projection.weight', [1, 2], Wproj);
    put('text_model.embeddings.token_embedding.weight', [4, 2], [0, 0, 1, -1, 0.5, 0.25, -0.75, 2]);
    put(
      'text_model.embeddings.position_embedding.weight',
      [77, 2],
      Array.from({ length: 154 }, (_, i) => (i < 4 ? [0.2, -0.3, 0.4, 0.1][i]! : 9)),
    );
    put('text_model.final_layer_norm.weight', [2], lnF.g);
    put('text_model.final_layer_norm.bias', [2], lnF.b);
    put('text_projection.weight', [1, 2], Wproj);
    return w;
  }

  // The weights are stored as float32: the hand computation must use the same rounded values.
  const f = Math.fround;
  /** LayerNorm of a 2-vector in closed form: mean (a+b)/2, deviations ±δ with δ = (a−b)/2, variance δ². */
  const ln2v = ([a, b]: number[], n: { g: number[]; b: number[] }): number[] => {
    const d = (a! - b!) / 2;
    const r = d / Math.sqrt(d * d + eps);
    return [r * f(n.g[0]!) + f(n.b[0]!), -r * f(n.g[1]!) + f(n.b[1]!)];
  };
  const mv = (M: number[][], b: number[], [x0, x1]: number[]): number[] => [
    f(M[0]![0]!) * x0! + f(M[0]![1]!) * x1! + f(b[0]!),
    f(M[1]![0]!) * x0! + f(M[1]![1]!) * x1! + f(b[1]!),
  ];
  const dot = (a: number[], b: number[]) => a[0]! * b[0]! + a[1]! * b[1]!;

  /** The whole block on two rows; `causal` restricts row 0 to key 0. Returns both rows and row 0's probabilities and head output. */
  function handBlock(x: number[][], causal: boolean, act: (z: number) => number) {
    const a = x.map((r) => ln2v(r, ln1));
    const q = a.map((r) => mv(Wq, bq, r));
    const k = a.map((r) => mv(Wk, bk, r));
    const v = a.map((r) => mv(Wv, bv, r));
    const probs = q.map((qi, i) => {
      if (causal && i === 0) return [1, 0];
      const s0 = dot(qi, k[0]!) / Math.SQRT2,
        s1 = dot(qi, k[1]!) / Math.SQRT2;
      const p1 = 1 / (1 + Math.exp(s0 - s1)); // two-way softmax
      return [1 - p1, p1];
    });
    const o = probs.map(([p0, p1]) => [p0! * v[0]![0]! + p1! * v[1]![0]!, p0! * v[0]![1]! + p1! * v[1]![1]!]);
    const headOut0 = mv(Wo, [0, 0], o[0]!);
    const y = x.map((r, i) => {
      const attn = mv(Wo, bo, o[i]!);
      return [r[0]! + attn[0]!, r[1]! + attn[1]!];
    });
    const out = y.map((r) => {
      const m = ln2v(r, ln2);
      const hdn = act(f(W1[0]!) * m[0]! + f(W1[1]!) * m[1]! + f(b1));
      return [r[0]! + f(W2[0]!) * hdn + f(b2[0]!), r[1]! + f(W2[1]!) * hdn + f(b2[1]!)];
    });
    return { out, probs0: probs[0], headOut0 };
  }
  const head = (r: number[]) => {
    const n = ln2v(r, lnF);
    return f(Wproj[0]!) * n[0]! + f(Wproj[1]!) * n[1]!;
  };

  const acts = {
    quick_gelu: (z: number) => z / (1 + Math.exp(-1.702 * z)),
    gelu: (z: number) => 0.5 * z * (1 + erfRef(z / Math.SQRT2)),
  };

  for (const actName of ['quick_gelu', 'gelu'] as const) {
    it(`vision, ${actName}`, () => {
      const cfg = cfgFor(actName);
      const w = mapFor();
      const pixels = Float64Array.from([0.2, -0.4, 0.6]); // one 1×1 patch: r, g, b
      // Embedding: CLS + pos0; patch (r, g + 0.5·b) + pos1; then pre_layrnorm (g [1,2], b [0,0.1]).
      const e0 = [0.5 + f(0.1), -0.5 + 0];
      const e1 = [0.2 + 0, -0.4 + 0.5 * 0.6 + f(0.2)]; // pixels are float64, not rounded
      const pre = { g: [1, 2], b: [0, 0.1] };
      const x0 = [ln2v(e0, pre), ln2v(e1, pre)];
      const { out, probs0, headOut0 } = handBlock(x0, false, acts[actName]);
      const r = visionForwardRef(cfg, w, pixels);
      expectClose(r.hidden, out.flat());
      expectClose(r.clsAttn, probs0!);
      expectClose(r.clsHeadOut, headOut0);
      expectClose(r.imageEmbeds, [head(out[0]!)]);
    });

    it(`text, ${actName}`, () => {
      const cfg = cfgFor(actName);
      const w = mapFor();
      const tok = [
        [0, 0],
        [1, -1],
        [0.5, 0.25],
        [-0.75, 2],
      ];
      const pos = [
        [0.2, -0.3],
        [0.4, 0.1],
      ];
      // ids [1, 3]: EOT (3) at position 1, which attends to both tokens.
      const x = [
        [tok[1]![0]! + f(pos[0]![0]!), tok[1]![1]! + f(pos[0]![1]!)],
        [tok[3]![0]! + f(pos[1]![0]!), tok[3]![1]! + f(pos[1]![1]!)],
      ];
      const { out } = handBlock(x, true, acts[actName]);
      expectClose(textForwardRef(cfg, w, [1, 3]), [head(out[1]!)]);
      // ids [3, 1]: EOT at position 0, which (causal) sees only itself.
      const y = [
        [tok[3]![0]! + f(pos[0]![0]!), tok[3]![1]! + f(pos[0]![1]!)],
        [tok[1]![0]! + f(pos[1]![0]!), tok[1]![1]! + f(pos[1]![1]!)],
      ];
      expectClose(textForwardRef(cfg, w, [3, 1]), [head(handBlock(y, true, acts[actName]).out[0]!)]);
    });
  }
});
