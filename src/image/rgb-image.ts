/** A decoded image: 8-bit RGB, row-major, interleaved (HWC), exactly as stored (no EXIF rotation). */
export interface RgbImage {
  width: number;
  height: number;
  /** width·height·3 bytes. */
  data: Uint8Array;
}
