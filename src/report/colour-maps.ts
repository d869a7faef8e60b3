/** The colour scales of falip's figures, as plain functions so the SVG and its legend agree. */

export type Rgb = readonly [r: number, g: number, b: number];

/** Matplotlib's inferno at 9 evenly spaced points: black → purple → red → orange → pale yellow. */
const INFERNO: readonly Rgb[] = [
  [0, 0, 4],
  [31, 12, 72],
  [85, 15, 109],
  [136, 34, 106],
  [186, 54, 85],
  [227, 89, 51],
  [249, 140, 10],
  [249, 201, 50],
  [252, 255, 164],
];

/** Red for positive, blue for negative (ColorBrewer RdBu's ends). */
export const POSITIVE: Rgb = [178, 24, 43];
export const NEGATIVE: Rgb = [33, 102, 172];

/** How a figure colours values: 'sequential' from 0 to a max on inferno, 'signed' red/blue with opacity ∝ |value|. */
export type ScaleKind = 'sequential' | 'signed';

const clamp01 = (t: number) => (Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0);

/** Inferno at t ∈ [0,1] (clamped), linearly between its stops. */
export function inferno(t: number): Rgb {
  const x = clamp01(t) * (INFERNO.length - 1);
  const i = Math.min(Math.floor(x), INFERNO.length - 2);
  const f = x - i;
  const [a, b] = [INFERNO[i]!, INFERNO[i + 1]!];
  return [0, 1, 2].map((k) => Math.round(a[k]! + f * (b[k]! - a[k]!))) as unknown as Rgb;
}

/** A signed value's tint: its sign's colour, opaque in proportion to |t| (t = value / largest |value|, clamped). */
export function signedTint(t: number, maxOpacity = 0.85): { rgb: Rgb; opacity: number } {
  const s = Number.isFinite(t) ? Math.max(-1, Math.min(1, t)) : 0;
  return { rgb: s >= 0 ? POSITIVE : NEGATIVE, opacity: Math.abs(s) * maxOpacity };
}

/**
 * The tint of `value` on a scale at full colour at `max`: inferno at `opacity.sequential`, or the
 * sign's colour at up to `opacity.signed`.
 */
export function scaleTint(
  value: number,
  scale: { kind: ScaleKind; max: number },
  opacity: { sequential: number; signed: number },
): { rgb: Rgb; opacity: number } {
  const t = scale.max > 0 ? value / scale.max : 0;
  return scale.kind === 'sequential' ? { rgb: inferno(t), opacity: opacity.sequential } : signedTint(t, opacity.signed);
}

export function hex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/** The inferno stops as SVG gradient stops (for a colour bar). */
export function infernoStops(): { offset: number; colour: string }[] {
  return INFERNO.map((c, i) => ({ offset: i / (INFERNO.length - 1), colour: hex(c) }));
}

/** A vertical colour bar's gradient as SVG defs, the scale's max at the top (fill a rect with `url(#id)`). */
export function colourBarGradient(kind: ScaleKind, id: string): string {
  const stops =
    kind === 'sequential'
      ? infernoStops()
          .reverse()
          .map((s) => `<stop offset="${(1 - s.offset).toFixed(3)}" stop-color="${s.colour}"/>`)
          .join('')
      : `<stop offset="0" stop-color="${hex(POSITIVE)}"/><stop offset="0.5" stop-color="#ffffff"/><stop offset="1" stop-color="${hex(NEGATIVE)}"/>`;
  return `<defs><linearGradient id="${id}" x1="0" y1="0" x2="0" y2="1">${stops}</linearGradient></defs>`;
}
