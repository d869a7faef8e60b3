/**
 * Independent float64 CLIP forward pass: the numerical oracle the ONNX graphs are tested against.
 *
 * Written straight from the equations (HF CLIP naming, Linear y = x·Wᵀ + b) and deliberately sharing
 * no code with src/ beyond the config and tensor types, so a bug in the graph builders cannot hide
 * behind the same bug here. Everything is float64; clarity beats speed (plain loops), but the
 * 'tiny' architecture (197 tokens, width 64, 12 layers) still runs in a fraction of a second.
 */
import type { ClipConfig, TowerConfig } from '../../src/model/clip-config.js';
import type { WeightMap } from '../../src/model/tensor.js';

/**
 * Learned vision prompts (VPT-style, as IVLP and MaPLe run them): n tokens appended after the positional
 * embedding (they have none) and before pre_layrnorm, so the sequence is T + n long; before layer l ≥ 1
 * the last n rows of the residual stream are replaced by `deep[l]` where it is given, else kept.
 */
export interface VisionPromptsRef {
  /** [n·D], row-major. */
  shallow: ArrayLike<number>;
  deep: ReadonlyMap<number, ArrayLike<number>>;
  /**
   * How a T×T attention bias reaches the prompt tokens: 'zero' (rows and columns of the prompts get 0)
   * or 'cls' (the CLS query row gives each prompt column the bias plane's largest value). A bias of
   * length (T+n)² per plane is used as given.
   */
  mask?: 'zero' | 'cls';
}

export interface VisionRefOptions {
  /** Additive attention bias: either one T×T matrix shared by all heads (length T*T) or per head (length H*T*T), row = query, column = key. */
  attnBias?: Float32Array | Float64Array;
  /** gate[l][h] multiplies the bias in layer l (0-based), head h; missing = no bias anywhere. */
  biasGate?: number[][];
  /** Feature-mask ablation: per-token scale s[t] (length T) applied in the layers where tokenScaleLayers[l] is true, at `tokenScaleAt`:
   *  'residual' → x ← x ⊙ s (broadcast over features) at the input of the layer, before LN1;
   *  'attn-input' → only the attention's input: a = LN1(x) ⊙ s (the residual is untouched).
   *  tokenScaleLayers missing = every layer run; tokenScaleAt missing = 'residual'. */
  tokenScale?: Float32Array | Float64Array;
  tokenScaleLayers?: boolean[];
  tokenScaleAt?: 'residual' | 'attn-input';
  /** Run only layers [startLayer, endLayer) (0-based) — for prefix/suffix tests: with hiddenIn given, skip the embedding and start from it ([T,D]). */
  hiddenIn?: Float64Array;
  startLayer?: number;
  endLayer?: number;
  /** Learned vision prompts: every T above is then T + n (hiddenIn, hidden, clsAttn). */
  prompts?: VisionPromptsRef;
  /** Also return every layer's full attention probabilities (`probs`). */
  keepProbs?: boolean;
}

export interface VisionRefResult {
  imageEmbeds: Float64Array; // [P]
  hidden: Float64Array; // [T,D] residual stream after the last layer run (before post_layernorm)
  clsResidual: Float64Array; // [D] = hidden[0]
  clsAttn: Float64Array; // [L,H,T] CLS-row attention probabilities of every layer run (zeros for layers not run)
  clsHeadOut: Float64Array; // [L,H,D] per-head CLS contribution: (P_h[0,:]·v_h)·Wo[:, h·dh:(h+1)·dh]ᵀ (out-proj bias NOT included, it is separate)
  probs?: Float64Array; // [L,H,T,T] with keepProbs: every layer's attention probabilities (query row, key column)
}

// ---------------------------------------------------------------------------------------------
// Weights

/** float32 → float64 copies, made once per tensor (keyed by the tensor's data, so a new map re-converts). */
const f64Cache = new WeakMap<Float32Array, Float64Array>();

/** A weight as float64, with its shape checked so a mis-shaped fixture fails loudly rather than silently. */
function weight(w: WeightMap, name: string, shape: number[]): Float64Array {
  const t = w.get(name);
  if (!t) throw new Error(`reference: missing weight ${name}`);
  if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
    throw new Error(`reference: ${name} has shape [${t.shape}], expected [${shape}]`);
  }
  let d = f64Cache.get(t.data);
  if (!d) {
    d = Float64Array.from(t.data);
    f64Cache.set(t.data, d);
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// Elementary operations (row-major matrices as flat Float64Arrays)

/** Row-wise LayerNorm of x [n,d]: (x − mean)/sqrt(var + eps)·g + b, biased variance. */
function layerNorm(x: Float64Array, n: number, d: number, g: Float64Array, b: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let mean = 0;
    for (let k = 0; k < d; k++) mean += x[o + k]!;
    mean /= d;
    let v = 0;
    for (let k = 0; k < d; k++) v += (x[o + k]! - mean) ** 2;
    v /= d;
    const inv = 1 / Math.sqrt(v + eps);
    for (let k = 0; k < d; k++) y[o + k] = (x[o + k]! - mean) * inv * g[k]! + b[k]!;
  }
  return y;
}

/** y [n,dOut] = x [n,dIn] · Wᵀ + b, W stored [dOut,dIn] as in torch.nn.Linear. */
function linear(
  x: Float64Array,
  n: number,
  dIn: number,
  W: Float64Array,
  b: Float64Array | null,
  dOut: number,
): Float64Array {
  const y = new Float64Array(n * dOut);
  for (let i = 0; i < n; i++) {
    const xi = i * dIn;
    for (let o = 0; o < dOut; o++) {
      const wo = o * dIn;
      let s = 0;
      for (let k = 0; k < dIn; k++) s += x[xi + k]! * W[wo + k]!;
      y[i * dOut + o] = b ? s + b[o]! : s;
    }
  }
  return y;
}

/**
 * erf(x) to ~1e-15 relative. JavaScript has no Math.erf. For |x| < 6 this uses the series
 * erf(x) = 2/√π · e^{−x²} · Σ_n 2ⁿ x^{2n+1} / (1·3·…·(2n+1)), whose terms are all positive (no
 * cancellation, unlike the plain Taylor series); beyond 6, erf is ±1 to double precision.
 */
export function erfRef(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  let term = ax;
  let sum = ax;
  for (let n = 0; n < 1000; n++) {
    term *= (2 * ax * ax) / (2 * n + 3);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const r = (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
  return x < 0 ? -r : r;
}

function activation(kind: ClipConfig['hiddenAct']): (x: number) => number {
  if (kind === 'quick_gelu') return (x) => x / (1 + Math.exp(-1.702 * x)); // x·σ(1.702x)
  if (kind === 'gelu') return (x) => 0.5 * x * (1 + erfRef(x / Math.SQRT2));
  throw new Error(`reference: unknown activation ${String(kind)}`);
}

// ---------------------------------------------------------------------------------------------
// One pre-LN transformer block

interface BlockArgs {
  causal: boolean;
  /** Additive logit bias: [n,n] shared or [H,n,n] per head, multiplied by gates[h]. */
  bias?: Float32Array | Float64Array;
  gates?: number[];
  /** Per-token scale, applied at `scaleAt` (see VisionRefOptions). */
  scale?: Float32Array | Float64Array;
  scaleAt?: 'residual' | 'attn-input';
  /** Attention probabilities [H,n,n] to use instead of this stream's own (two-stream ablation). */
  probsIn?: Float64Array;
}

interface BlockOut {
  x: Float64Array; // [n,D] residual stream after the block
  probs: Float64Array; // [H,n,n] the attention probabilities this block computed from its own q,k (+ bias)
  clsHeadOut: Float64Array; // [H,D] per-head contribution to row 0 of the attention output, without out-proj bias
}

function block(
  w: WeightMap,
  prefix: string,
  tc: TowerConfig,
  act: (x: number) => number,
  xIn: Float64Array,
  n: number,
  args: BlockArgs,
): BlockOut {
  const D = tc.hiddenSize;
  const H = tc.numHeads;
  const dh = D / H;
  const I = tc.intermediateSize;
  const p = (s: string) => `${prefix}.${s}`;

  let x = xIn;
  if (args.scale && args.scaleAt !== 'attn-input') {
    // Feature mask on the residual stream itself: the scaled stream is what the layer (and every later layer) sees.
    x = new Float64Array(xIn);
    for (let t = 0; t < n; t++) for (let k = 0; k < D; k++) x[t * D + k]! *= args.scale[t]!;
  }

  const a = layerNorm(
    x,
    n,
    D,
    weight(w, p('layer_norm1.weight'), [D]),
    weight(w, p('layer_norm1.bias'), [D]),
    tc.layerNormEps,
  );
  if (args.scale && args.scaleAt === 'attn-input') {
    for (let t = 0; t < n; t++) for (let k = 0; k < D; k++) a[t * D + k]! *= args.scale[t]!;
  }
  const proj = (name: string) =>
    linear(a, n, D, weight(w, p(`self_attn.${name}.weight`), [D, D]), weight(w, p(`self_attn.${name}.bias`), [D]), D);
  const q = proj('q_proj');
  const k = proj('k_proj');
  const v = proj('v_proj');

  let perHeadBias = false;
  if (args.bias) {
    if (args.bias.length === H * n * n) perHeadBias = true;
    else if (args.bias.length !== n * n)
      throw new Error(`reference: attnBias length ${args.bias.length} is neither T*T=${n * n} nor H*T*T=${H * n * n}`);
  }

  const probs = new Float64Array(H * n * n);
  const o = new Float64Array(n * D); // concatenated head outputs, before out_proj
  const scale = 1 / Math.sqrt(dh);
  const logits = new Float64Array(n);
  const bias = args.bias;
  for (let h = 0; h < H; h++) {
    const gate = bias ? (args.gates?.[h] ?? 0) : 0;
    const biasOff = perHeadBias ? h * n * n : 0;
    const f0 = h * dh,
      f1 = (h + 1) * dh;
    for (let i = 0; i < n; i++) {
      // Causal mask: query i sees keys j ≤ i only (the −∞ logits contribute exp(−∞) = 0).
      const last = args.causal ? i : n - 1;
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        let s = 0;
        const qi = i * D,
          kj = j * D;
        for (let f = f0; f < f1; f++) s += q[qi + f]! * k[kj + f]!;
        s *= scale;
        // Skip a zero gate entirely so that −∞ entries in an ungated bias do not produce 0·(−∞) = NaN.
        if (gate !== 0) s += gate * bias![biasOff + i * n + j]!;
        logits[j] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = 0; j <= last; j++) sum += logits[j] = Math.exp(logits[j]! - max);
      for (let j = 0; j <= last; j++) probs[h * n * n + i * n + j] = logits[j]! / sum;
    }
  }

  const P = args.probsIn ?? probs;
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const pij = P[h * n * n + i * n + j]!;
        if (pij === 0) continue;
        for (let f = h * dh; f < (h + 1) * dh; f++) o[i * D + f]! += pij * v[j * D + f]!;
      }
    }
  }

  const Wo = weight(w, p('self_attn.out_proj.weight'), [D, D]);
  const bo = weight(w, p('self_attn.out_proj.bias'), [D]);
  const attn = linear(o, n, D, Wo, bo, D);

  // Per-head CLS contribution: out_proj is linear, so row 0 of attn = bo + Σ_h o_h[0]·Wo[:, head h columns]ᵀ.
  const clsHeadOut = new Float64Array(H * D);
  for (let h = 0; h < H; h++) {
    for (let d = 0; d < D; d++) {
      let s = 0;
      for (let f = h * dh; f < (h + 1) * dh; f++) s += o[f]! * Wo[d * D + f]!;
      clsHeadOut[h * D + d] = s;
    }
  }

  const x1 = new Float64Array(n * D);
  for (let t = 0; t < n * D; t++) x1[t] = x[t]! + attn[t]!;

  const m = layerNorm(
    x1,
    n,
    D,
    weight(w, p('layer_norm2.weight'), [D]),
    weight(w, p('layer_norm2.bias'), [D]),
    tc.layerNormEps,
  );
  const hdn = linear(m, n, D, weight(w, p('mlp.fc1.weight'), [I, D]), weight(w, p('mlp.fc1.bias'), [I]), I);
  for (let t = 0; t < hdn.length; t++) hdn[t] = act(hdn[t]!);
  const mlp = linear(hdn, n, I, weight(w, p('mlp.fc2.weight'), [D, I]), weight(w, p('mlp.fc2.bias'), [D]), D);
  for (let t = 0; t < n * D; t++) x1[t]! += mlp[t]!;

  return { x: x1, probs, clsHeadOut };
}

// ---------------------------------------------------------------------------------------------
// Vision tower

function visionDims(cfg: ClipConfig) {
  const v = cfg.vision;
  const G = v.imageSize / v.patchSize;
  if (!Number.isInteger(G)) throw new Error('reference: imageSize must be a multiple of patchSize');
  return { v, G, T: G * G + 1, D: v.hiddenSize, H: v.numHeads, L: v.numLayers, p: v.patchSize, S: v.imageSize };
}

/**
 * Patch + class + position embeddings, then the appended prompt tokens [n·D] if any, then pre_layrnorm:
 * the input of layer 0, [T+n,D].
 */
function visionEmbed(
  cfg: ClipConfig,
  w: WeightMap,
  pixels: Float32Array | Float64Array,
  appended: ArrayLike<number> = [],
): Float64Array {
  const { v, G, T, D, p, S } = visionDims(cfg);
  if (pixels.length !== 3 * S * S) throw new Error(`reference: pixels length ${pixels.length}, expected 3*${S}*${S}`);
  if (appended.length % D !== 0) throw new Error(`reference: appended tokens of ${appended.length} values`);
  const n = T + appended.length / D;
  const Wp = weight(w, 'vision_model.embeddings.patch_embedding.weight', [D, 3, p, p]);
  const cls = weight(w, 'vision_model.embeddings.class_embedding', [D]);
  const pos = weight(w, 'vision_model.embeddings.position_embedding.weight', [T, D]);
  const x = new Float64Array(n * D);
  for (let k = 0; k < appended.length; k++) x[T * D + k] = appended[k]!;
  for (let d = 0; d < D; d++) x[d] = cls[d]! + pos[d]!;
  for (let r = 0; r < G; r++) {
    for (let c = 0; c < G; c++) {
      const t = 1 + r * G + c; // row-major patch order
      for (let d = 0; d < D; d++) {
        // Convolution with stride p and no bias = a dot product of the kernel with one patch.
        let s = 0;
        for (let ch = 0; ch < 3; ch++) {
          for (let i = 0; i < p; i++) {
            for (let j = 0; j < p; j++) {
              s += Wp[((d * 3 + ch) * p + i) * p + j]! * pixels[(ch * S + r * p + i) * S + c * p + j]!;
            }
          }
        }
        x[t * D + d] = s + pos[t * D + d]!;
      }
    }
  }
  return layerNorm(
    x,
    n,
    D,
    weight(w, 'vision_model.pre_layrnorm.weight', [D]),
    weight(w, 'vision_model.pre_layrnorm.bias', [D]),
    v.layerNormEps,
  );
}

/** ln_post + projection of a CLS residual vector (for the unleash recomposition). */
export function projectClsRef(cfg: ClipConfig, w: WeightMap, clsResidual: Float64Array): Float64Array {
  const D = cfg.vision.hiddenSize;
  const P = cfg.projectionDim;
  if (clsResidual.length !== D) throw new Error(`reference: clsResidual length ${clsResidual.length}, expected ${D}`);
  const pooled = layerNorm(
    clsResidual,
    1,
    D,
    weight(w, 'vision_model.post_layernorm.weight', [D]),
    weight(w, 'vision_model.post_layernorm.bias', [D]),
    cfg.vision.layerNormEps,
  );
  return linear(pooled, 1, D, weight(w, 'visual_projection.weight', [P, D]), null, P);
}

/**
 * A T×T bias (or H of them) on the prompted sequence of T + n tokens: zero in the prompts' rows and
 * columns; with 'cls', row 0's prompt columns hold the plane's largest value. A bias that already has
 * (T+n)² values per plane is returned as it is.
 */
function promptedBiasRef(
  bias: Float32Array | Float64Array,
  T: number,
  n: number,
  mask: 'zero' | 'cls' = 'zero',
): Float32Array | Float64Array {
  const Tp = T + n;
  if (bias.length % (Tp * Tp) === 0 && bias.length % (T * T) !== 0) return bias;
  const planes = bias.length / (T * T);
  const out = new Float64Array(planes * Tp * Tp);
  for (let k = 0; k < planes; k++) {
    let peak = 0;
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        const b = bias[k * T * T + i * T + j]!;
        out[k * Tp * Tp + i * Tp + j] = b;
        peak = Math.max(peak, b);
      }
    }
    if (mask === 'cls') for (let j = T; j < Tp; j++) out[k * Tp * Tp + j] = peak;
  }
  return out;
}

/** Validates and returns the block arguments of vision layer l (bias gate and token scale). */
function visionLayerArgs(
  cfg: ClipConfig,
  l: number,
  opts: {
    attnBias?: Float32Array | Float64Array;
    biasGate?: number[][];
    tokenScale?: Float32Array | Float64Array;
    tokenScaleLayers?: boolean[];
    tokenScaleAt?: 'residual' | 'attn-input';
  },
): BlockArgs {
  const { T } = visionDims(cfg);
  const args: BlockArgs = { causal: false };
  if (opts.attnBias && opts.biasGate?.[l]) {
    args.bias = opts.attnBias;
    args.gates = opts.biasGate[l];
  }
  if (opts.tokenScale && (opts.tokenScaleLayers ? opts.tokenScaleLayers[l] === true : true)) {
    if (opts.tokenScale.length !== T)
      throw new Error(`reference: tokenScale length ${opts.tokenScale.length}, expected ${T}`);
    args.scale = opts.tokenScale;
    args.scaleAt = opts.tokenScaleAt ?? 'residual';
  }
  return args;
}

export function visionForwardRef(
  cfg: ClipConfig,
  w: WeightMap,
  pixels: Float32Array | Float64Array,
  opts: VisionRefOptions = {},
): VisionRefResult {
  const { v, T: imageTokens, D, H, L } = visionDims(cfg);
  const prompts = opts.prompts;
  const nPrompts = prompts ? prompts.shallow.length / D : 0;
  const T = imageTokens + nPrompts;
  const start = opts.startLayer ?? 0;
  const end = opts.endLayer ?? L;
  if (!(0 <= start && start <= end && end <= L))
    throw new Error(`reference: bad layer range [${start}, ${end}) for ${L} layers`);
  let x: Float64Array;
  if (opts.hiddenIn) {
    if (opts.hiddenIn.length !== T * D)
      throw new Error(`reference: hiddenIn length ${opts.hiddenIn.length}, expected ${T * D}`);
    x = new Float64Array(opts.hiddenIn);
  } else {
    x = visionEmbed(cfg, w, pixels, prompts?.shallow);
  }
  const layerOpts =
    prompts && opts.attnBias
      ? { ...opts, attnBias: promptedBiasRef(opts.attnBias, imageTokens, nPrompts, prompts.mask) }
      : opts;
  const act = activation(cfg.hiddenAct);
  const clsAttn = new Float64Array(L * H * T);
  const clsHeadOut = new Float64Array(L * H * D);
  const probs = opts.keepProbs ? new Float64Array(L * H * T * T) : undefined;
  for (let l = start; l < end; l++) {
    const replacement = prompts?.deep.get(l);
    if (replacement && l > 0) {
      if (replacement.length !== nPrompts * D)
        throw new Error(`reference: deep prompt ${l} of ${replacement.length} values`);
      x = new Float64Array(x);
      for (let k = 0; k < replacement.length; k++) x[imageTokens * D + k] = replacement[k]!;
    }
    const out = block(w, `vision_model.encoder.layers.${l}`, v, act, x, T, visionLayerArgs(cfg, l, layerOpts));
    x = out.x;
    for (let h = 0; h < H; h++) clsAttn.set(out.probs.subarray(h * T * T, h * T * T + T), (l * H + h) * T);
    clsHeadOut.set(out.clsHeadOut, l * H * D);
    probs?.set(out.probs, l * H * T * T);
  }
  const clsResidual = x.slice(0, D);
  return {
    imageEmbeds: projectClsRef(cfg, w, clsResidual),
    hidden: x,
    clsResidual,
    clsAttn,
    clsHeadOut,
    ...(probs && { probs }),
  };
}

/** Two-stream ablation (q/k/v replacement). Stream "out" and stream "probs" both run the full network on their own pixels.
 *  In layers where swapLayers[l] is true, the out-stream's attention uses the probs-stream's attention probabilities P_probs (computed from the probs stream's own q,k, with gate·bias added to the probs stream's logits if given), applied to the out-stream's own v. Everything else in each stream is its own. The probs stream is itself unmodified (it uses its own P, with the bias if gated). Returns the out-stream's image_embeds. */
export function twoStreamForwardRef(
  cfg: ClipConfig,
  w: WeightMap,
  outPixels: Float32Array | Float64Array,
  probsPixels: Float32Array | Float64Array,
  opts: { swapLayers: boolean[]; attnBias?: Float32Array | Float64Array; biasGate?: number[][] },
): Float64Array {
  const { v, D, T, L } = visionDims(cfg);
  const act = activation(cfg.hiddenAct);
  let xo = visionEmbed(cfg, w, outPixels);
  let xp = visionEmbed(cfg, w, probsPixels);
  for (let l = 0; l < L; l++) {
    const prefix = `vision_model.encoder.layers.${l}`;
    // The bias belongs to the probs stream only; the out stream's own logits matter only where not swapped,
    // and there it runs unbiased (it is "everything else is its own").
    const probsOut = block(w, prefix, v, act, xp, T, visionLayerArgs(cfg, l, opts));
    const outArgs: BlockArgs = { causal: false };
    if (opts.swapLayers[l]) outArgs.probsIn = probsOut.probs;
    xo = block(w, prefix, v, act, xo, T, outArgs).x;
    xp = probsOut.x;
  }
  return projectClsRef(cfg, w, xo.slice(0, D));
}

/** Unleash (paper Eq. 5–6) recomposed exactly: G = clsHeadOut of the original image, G' = of the prompted image; in the given layers each head's contribution G'_h becomes G_h + weight[h]·(G'_h − G_h) (weight 2 gives 2G'−G, weight 1 gives G' unchanged); the new CLS residual = prompted clsResidual + Σ_{l∈layers} Σ_h (weight[h] − 1)(G'_h − G_h), then ln_post + projection. (Post-hoc: edits do not propagate to later layers.) */
export function unleashRef(
  cfg: ClipConfig,
  w: WeightMap,
  original: VisionRefResult,
  prompted: VisionRefResult,
  layers: number[],
  headWeights: number[],
): Float64Array {
  const { D, H, L } = visionDims(cfg);
  if (headWeights.length !== H) throw new Error(`reference: headWeights length ${headWeights.length}, expected ${H}`);
  const cls = new Float64Array(prompted.clsResidual);
  for (const l of layers) {
    if (!(Number.isInteger(l) && l >= 0 && l < L)) throw new Error(`reference: unleash layer ${l} out of range`);
    for (let h = 0; h < H; h++) {
      const off = (l * H + h) * D;
      for (let d = 0; d < D; d++)
        cls[d]! += (headWeights[h]! - 1) * (prompted.clsHeadOut[off + d]! - original.clsHeadOut[off + d]!);
    }
  }
  return projectClsRef(cfg, w, cls);
}

// ---------------------------------------------------------------------------------------------
// Text tower

/**
 * Text embedding of unpadded ids (SOT … EOT). Running on ids.length tokens instead of the padded 77 is
 * exact: every operation except attention is per token, and the causal mask lets position i attend
 * only to positions ≤ i, so nothing after the EOT token can reach the EOT row that is pooled.
 */
/**
 * Learned text prompts (CoOp's context and the deep prompts of IVLP and MaPLe): `ctx` [m·D] replaces the
 * token embeddings of positions 1..m (before the positional embedding is added); before layer l ≥ 1,
 * positions 1..m of the residual stream are replaced by `deep[l]` where it is given.
 */
export interface TextPromptsRef {
  ctx: ArrayLike<number>;
  deep: ReadonlyMap<number, ArrayLike<number>>;
}

export function textForwardRef(cfg: ClipConfig, w: WeightMap, ids: number[], prompts?: TextPromptsRef): Float64Array {
  const tc = cfg.text;
  const n = ids.length;
  const D = tc.hiddenSize;
  const P = cfg.projectionDim;
  if (n === 0 || n > tc.contextLength) throw new Error(`reference: ${n} text tokens (1..${tc.contextLength} allowed)`);
  const tok = weight(w, 'text_model.embeddings.token_embedding.weight', [tc.vocabSize, D]);
  const pos = weight(w, 'text_model.embeddings.position_embedding.weight', [tc.contextLength, D]);
  const m = prompts ? prompts.ctx.length / D : 0;
  if (prompts && (!Number.isInteger(m) || 1 + m >= n))
    throw new Error(`reference: a context of ${m} tokens in ${n} tokens`);
  let x: Float64Array = new Float64Array(n * D);
  for (let t = 0; t < n; t++) {
    const id = ids[t]!;
    if (!(Number.isInteger(id) && id >= 0 && id < tc.vocabSize))
      throw new Error(`reference: token id ${id} out of vocabulary`);
    for (let d = 0; d < D; d++) {
      const embedding = t >= 1 && t <= m ? prompts!.ctx[(t - 1) * D + d]! : tok[id * D + d]!;
      x[t * D + d] = embedding + pos[t * D + d]!;
    }
  }
  const act = activation(cfg.hiddenAct);
  for (let l = 0; l < tc.numLayers; l++) {
    const replacement = prompts?.deep.get(l);
    if (replacement && l > 0) {
      if (replacement.length !== m * D)
        throw new Error(`reference: deep text prompt ${l} of ${replacement.length} values`);
      for (let k = 0; k < m * D; k++) x[D + k] = replacement[k]!;
    }
    x = block(w, `text_model.encoder.layers.${l}`, tc, act, x, n, { causal: true }).x;
  }

  // Pool at EOT, the largest id (first occurrence on ties, like torch.argmax).
  let eot = 0;
  for (let t = 1; t < n; t++) if (ids[t]! > ids[eot]!) eot = t;
  const row = layerNorm(
    x.slice(eot * D, (eot + 1) * D),
    1,
    D,
    weight(w, 'text_model.final_layer_norm.weight', [D]),
    weight(w, 'text_model.final_layer_norm.bias', [D]),
    tc.layerNormEps,
  );
  return linear(row, 1, D, weight(w, 'text_projection.weight', [P, D]), null, P);
}

// ---------------------------------------------------------------------------------------------
// Text-directed decomposition of the image–text score (Gandelsman et al.)

export interface ScoreDecompositionRef {
  /** 100·cos(image_embeds, text_embeds). */
  score: number;
  /** [L,H,T] token i's contribution through head h's value path and out-projection in layer l. */
  tokenScores: Float64Array;
  /** The CLS row of the embedding (after pre_layrnorm), the residual stream's start. */
  embedScore: number;
  /** [L] each layer's out-projection bias. */
  outBiasScores: Float64Array;
  /** [L] each layer's MLP output on the CLS row. */
  mlpScores: Float64Array;
  /** post_layernorm's bias. */
  lnPostBiasScore: number;
}

/**
 * The image–text score split into additive terms. The final CLS residual is the sum of the embedding's
 * CLS row, every layer's attention CLS output (Σ over heads and tokens of p·(LN1(x)·W_Vᵀ + b_V)·W_Oᵀ, plus
 * the out-projection bias) and every layer's MLP CLS output. post_layernorm is taken as linear with the
 * final residual's mean and std (each term t maps to γ⊙(t − mean t)/σ, its bias β is a term of its own),
 * then the projection and the dot with 100·t̂/‖image_embeds‖. The terms sum to the score exactly.
 * Each term is computed on its own here (the MLP from its own input, not as a difference), so that the
 * sum equalling the score checks the decomposition rather than restating it.
 */
export function scoreDecompositionRef(
  cfg: ClipConfig,
  w: WeightMap,
  pixels: Float32Array | Float64Array,
  textEmbeds: ArrayLike<number>,
  opts: Pick<VisionRefOptions, 'attnBias' | 'biasGate'> = {},
): ScoreDecompositionRef {
  const { v, T, D, H, L } = visionDims(cfg);
  const P = cfg.projectionDim;
  const dh = D / H;
  const I = v.intermediateSize;
  const act = activation(cfg.hiddenAct);
  let x = visionEmbed(cfg, w, pixels);
  const embedCls = x.slice(0, D);
  const tokenTerms = new Float64Array(L * H * T * D); // [L,H,T,D] before the text direction
  const outBias: Float64Array[] = [];
  const mlpCls: Float64Array[] = [];
  for (let l = 0; l < L; l++) {
    const p = (s: string) => `vision_model.encoder.layers.${l}.${s}`;
    const out = block(w, `vision_model.encoder.layers.${l}`, v, act, x, T, visionLayerArgs(cfg, l, opts));
    const a = layerNorm(
      x,
      T,
      D,
      weight(w, p('layer_norm1.weight'), [D]),
      weight(w, p('layer_norm1.bias'), [D]),
      v.layerNormEps,
    );
    const values = linear(
      a,
      T,
      D,
      weight(w, p('self_attn.v_proj.weight'), [D, D]),
      weight(w, p('self_attn.v_proj.bias'), [D]),
      D,
    );
    const Wo = weight(w, p('self_attn.out_proj.weight'), [D, D]);
    const bo = weight(w, p('self_attn.out_proj.bias'), [D]);
    const attnCls = new Float64Array(bo);
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const prob = out.probs[h * T * T + i]!; // row 0 (the CLS query), key i
        const off = ((l * H + h) * T + i) * D;
        for (let d = 0; d < D; d++) {
          let s = 0;
          for (let f = h * dh; f < (h + 1) * dh; f++) s += values[i * D + f]! * Wo[d * D + f]!;
          tokenTerms[off + d] = prob * s;
          attnCls[d]! += prob * s;
        }
      }
    }
    // The MLP's CLS output from its own input: LN2 of the residual after attention, CLS row.
    const x1 = new Float64Array(D);
    for (let d = 0; d < D; d++) x1[d] = x[d]! + attnCls[d]!;
    const m = layerNorm(
      x1,
      1,
      D,
      weight(w, p('layer_norm2.weight'), [D]),
      weight(w, p('layer_norm2.bias'), [D]),
      v.layerNormEps,
    );
    const hidden = linear(m, 1, D, weight(w, p('mlp.fc1.weight'), [I, D]), weight(w, p('mlp.fc1.bias'), [I]), I).map(
      act,
    );
    mlpCls.push(linear(hidden, 1, I, weight(w, p('mlp.fc2.weight'), [D, I]), weight(w, p('mlp.fc2.bias'), [D]), D));
    outBias.push(bo);
    x = out.x;
  }

  const r = x.slice(0, D);
  let mean = 0;
  for (let d = 0; d < D; d++) mean += r[d]!;
  mean /= D;
  let variance = 0;
  for (let d = 0; d < D; d++) variance += (r[d]! - mean) ** 2;
  const sigma = Math.sqrt(variance / D + v.layerNormEps);
  const image = projectClsRef(cfg, w, r);
  const imageNorm = Math.hypot(...image);
  const textNorm = Math.hypot(...Array.from(textEmbeds));
  let cos = 0;
  for (let k = 0; k < P; k++) cos += (image[k]! * textEmbeds[k]!) / (imageNorm * textNorm);
  // dir = 100·Wprojᵀ·t̂/‖image‖: the score is pooled·dir for the pooled (post-LN) CLS vector.
  const Wp = weight(w, 'visual_projection.weight', [P, D]);
  const dir = new Float64Array(D);
  for (let d = 0; d < D; d++) {
    let s = 0;
    for (let k = 0; k < P; k++) s += Wp[k * D + d]! * textEmbeds[k]!;
    dir[d] = (100 * s) / (textNorm * imageNorm);
  }
  const gamma = weight(w, 'vision_model.post_layernorm.weight', [D]);
  const beta = weight(w, 'vision_model.post_layernorm.bias', [D]);
  const termScore = (t: ArrayLike<number>, offset = 0): number => {
    let tMean = 0;
    for (let d = 0; d < D; d++) tMean += t[offset + d]!;
    tMean /= D;
    let s = 0;
    for (let d = 0; d < D; d++) s += (gamma[d]! * (t[offset + d]! - tMean) * dir[d]!) / sigma;
    return s;
  };
  const tokenScores = new Float64Array(L * H * T);
  for (let j = 0; j < L * H * T; j++) tokenScores[j] = termScore(tokenTerms, j * D);
  let lnPostBiasScore = 0;
  for (let d = 0; d < D; d++) lnPostBiasScore += beta[d]! * dir[d]!;
  return {
    score: 100 * cos,
    tokenScores,
    embedScore: termScore(embedCls),
    outBiasScores: Float64Array.from(outBias, (b) => termScore(b)),
    mlpScores: Float64Array.from(mlpCls, (m) => termScore(m)),
    lnPostBiasScore,
  };
}
