import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { writeJpeg } from './cls-release-fixtures.js';

/**
 * Tiny prompt-learning releases in CoOp's layout (DATASETS.md): a dataset folder with its image
 * sub-folder and `split_zhou_<Name>.json`, FGVCAircraft's lists, ImageNet's wnid folders with
 * classnames.txt, and FVG-PT's foreground masks (JPEGs named as their images under `mask/`).
 */

/** One entry of a split: written as a JPEG of its size under the image folder. */
export interface ZhouEntry {
  split: 'train' | 'val' | 'test';
  /** Relative to the image folder, as the JSON lists it. */
  image: string;
  label: number;
  name: string;
  width: number;
  height: number;
}

export async function writeText(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

/** The JSON as CoOp's save_split writes it (write_json: indent 4). */
export function zhouJson(entries: readonly ZhouEntry[]): string {
  const split = (s: ZhouEntry['split']) => entries.filter((e) => e.split === s).map((e) => [e.image, e.label, e.name]);
  return JSON.stringify({ train: split('train'), val: split('val'), test: split('test') }, null, 4);
}

/** A dataset folder: the images under `<root>/<images>/` and the split file (its text replaceable). */
export async function writeZhouRelease(
  root: string,
  images: string,
  splitFile: string,
  entries: readonly ZhouEntry[],
  json = zhouJson(entries),
): Promise<void> {
  for (const e of entries) await writeJpeg(join(root, images, e.image), e.width, e.height);
  await writeText(join(root, splitFile), json);
}

const entry = (split: ZhouEntry['split'], image: string, label: number, name: string, w = 40, h = 30): ZhouEntry => ({
  split,
  image,
  label,
  name,
  width: w,
  height: h,
});

/** OxfordPets: flat images/, lower-case breed names, one with an underscore. */
export const PETS: readonly ZhouEntry[] = [
  entry('train', 'Abyssinian_1.jpg', 0, 'abyssinian'),
  entry('val', 'american_bulldog_2.jpg', 1, 'american_bulldog'),
  entry('test', 'Abyssinian_100.jpg', 0, 'abyssinian', 48, 32),
  entry('test', 'american_bulldog_100.jpg', 1, 'american_bulldog', 32, 48),
  entry('test', 'Bengal_7.jpg', 2, 'bengal', 40, 40),
];

/** DTD: images/<texture>/<file>, nested class folders. */
export const DTD: readonly ZhouEntry[] = [
  entry('train', 'banded/banded_0002.jpg', 0, 'banded'),
  entry('test', 'banded/banded_0004.jpg', 0, 'banded'),
  entry('test', 'zigzagged/zigzagged_0011.jpg', 1, 'zigzagged'),
];

/** EuroSAT: 2750/<Class>/<file>, CoOp's renamed classes. */
export const EUROSAT: readonly ZhouEntry[] = [
  entry('test', 'AnnualCrop/AnnualCrop_1.jpg', 0, 'Annual Crop Land', 64, 64),
  entry('test', 'SeaLake/SeaLake_3.jpg', 1, 'Sea or Lake', 64, 64),
  entry('val', 'SeaLake/SeaLake_9.jpg', 1, 'Sea or Lake', 64, 64),
];

/** Caltech101: 101_ObjectCategories/<Folder>/image_NNNN.jpg; the same file name in two classes; Faces → face. */
export const CALTECH: readonly ZhouEntry[] = [
  entry('test', 'Faces/image_0001.jpg', 0, 'face'),
  entry('test', 'accordion/image_0001.jpg', 1, 'accordion'),
  entry('train', 'airplanes/image_0003.jpg', 2, 'airplane'),
];

/** StanfordCars: paths relative to the dataset folder itself (cars_test/...), year first. */
export const CARS: readonly ZhouEntry[] = [
  entry('test', 'cars_test/00001.jpg', 0, '2012 Audi TTS Coupe'),
  entry('train', 'cars_train/00002.jpg', 1, '2007 BMW X5 SUV'),
  entry('test', 'cars_test/00002.jpg', 1, '2007 BMW X5 SUV'),
];

/** SUN397: SUN397/<letter>/<category>[/<sub>]/<file>, names reversed (outdoor first). */
export const SUN: readonly ZhouEntry[] = [
  entry('test', 'a/abbey/sun_aaaulhwrhqgejnyt.jpg', 0, 'abbey'),
  entry('test', 'a/apartment_building/outdoor/sun_aaeyydztmaklpgsx.jpg', 1, 'outdoor apartment_building'),
];

/** UCF101: UCF-101-midframes/<Action_Name>/<clip>.jpg. */
export const UCF: readonly ZhouEntry[] = [
  entry('test', 'Apply_Eye_Makeup/v_ApplyEyeMakeup_g01_c01.jpg', 0, 'Apply_Eye_Makeup', 64, 48),
  entry('test', 'Archery/v_Archery_g01_c02.jpg', 1, 'Archery', 64, 48),
];

/** Food101: images/<class>/<id>.jpg. */
export const FOOD: readonly ZhouEntry[] = [
  entry('test', 'apple_pie/1005649.jpg', 0, 'apple_pie'),
  entry('test', 'baby_back_ribs/1014524.jpg', 1, 'baby_back_ribs'),
];

/** Flowers102: jpg/image_NNNNN.jpg, cat_to_name names. */
export const FLOWERS: readonly ZhouEntry[] = [
  entry('test', 'image_06734.jpg', 0, 'pink primrose'),
  entry('test', 'image_06735.jpg', 1, 'hard-leaved pocket orchid'),
];

/** FGVCAircraft's lists: variants.txt in the release's order (not sorted), a variant with a space and a slash. */
export const FGVC_VARIANTS = ['707-320', 'Cessna 172', 'F/A-18'];
export const FGVC_TEST: readonly [id: string, variant: string][] = [
  ['1514522', 'Cessna 172'],
  ['0056978', 'F/A-18'],
  ['0062765', '707-320'],
];

export async function writeFgvcRelease(root: string, test = FGVC_TEST): Promise<void> {
  await writeText(join(root, 'variants.txt'), `${FGVC_VARIANTS.join('\n')}\n`);
  await writeText(join(root, 'images_variant_test.txt'), `${test.map(([id, v]) => `${id} ${v}`).join('\n')}\n`);
  await writeText(join(root, 'images_variant_train.txt'), '1000001 707-320\n');
  for (const [id] of test) await writeJpeg(join(root, 'images', `${id}.jpg`), 40, 30);
}

/** ImageNet (CoOp's imagenet/ folder): two wnid folders of val, classnames.txt with a third, folderless wnid. */
export const IMAGENET_CLASSNAMES = 'n01440764 tench\nn01443537 goldfish\nn01484850 great_white shark\n';
export const IMAGENET_VAL: readonly { image: string; width: number; height: number }[] = [
  { image: 'n01443537/ILSVRC2012_val_00000001.JPEG', width: 50, height: 40 },
  { image: 'n01440764/ILSVRC2012_val_00000293.JPEG', width: 40, height: 50 },
  { image: 'n01440764/ILSVRC2012_val_00002138.JPEG', width: 32, height: 32 },
];

export async function writeImageNetRelease(root: string, classnames = IMAGENET_CLASSNAMES): Promise<void> {
  await writeText(join(root, 'classnames.txt'), classnames);
  for (const i of IMAGENET_VAL) await writeJpeg(join(root, 'images', 'val', i.image), i.width, i.height);
}

/** A mask as FVG-PT ships them: 3-channel JPEG (or PNG), value(x, y) the grey level at each pixel. */
export async function writeMask(
  path: string,
  width: number,
  height: number,
  value: (x: number, y: number) => number | readonly [number, number, number],
  format: 'jpeg' | 'png' | 'grey-jpeg' = 'jpeg',
): Promise<void> {
  const channels = format === 'grey-jpeg' ? 1 : 3;
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = value(x, y);
      const rgb = typeof v === 'number' ? [v, v, v] : v;
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = rgb[c]!;
    }
  }
  await mkdir(dirname(path), { recursive: true });
  const img = sharp(data, { raw: { width, height, channels } }).toColourspace(channels === 1 ? 'b-w' : 'srgb');
  await (format === 'png' ? img.png() : img.jpeg({ quality: 90 })).toFile(path);
}

/** Inside [x0, x1) × [y0, y1). */
export const inRect = (x: number, y: number, [x0, y0, x1, y1]: readonly [number, number, number, number]): boolean =>
  x >= x0 && x < x1 && y >= y0 && y < y1;
