/** Python 3's `round()` of a float to an integer: halves go to the even neighbour (Pillow's crop, torchvision's centre crop). */
export function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const frac = v - floor;
  if (frac !== 0.5) return Math.round(v);
  return floor % 2 === 0 ? floor : floor + 1;
}
