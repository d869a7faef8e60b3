import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

/** Tiny releases in each dataset's own on-disk format, for the classification importers' tests. */

export async function writeJpeg(path: string, width: number, height: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: { r: 90, g: 120, b: 150 } } })
    .jpeg()
    .toFile(path);
}

async function writeText(path: string, text: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

/** CUB: 5 classes, 2 images each; image i (1-based) is 40×30 when odd, 30×40 when even. */
export const CUB_FOLDERS = [
  '001.Black_footed_Albatross',
  '002.Laysan_Albatross',
  '003.Sooty_Albatross',
  '004.Groove_billed_Ani',
  '005.Crested_Auklet',
];

export interface CubFixtureImage {
  id: number;
  name: string;
  classId: number;
  isTrain: boolean;
  width: number;
  height: number;
  box: [number, number, number, number];
}

export const CUB_IMAGES: readonly CubFixtureImage[] = Array.from({ length: 10 }, (_, k) => {
  const id = k + 1;
  const classId = Math.floor(k / 2) + 1;
  const folder = CUB_FOLDERS[classId - 1]!;
  const [width, height] = id % 2 === 1 ? [40, 30] : [30, 40];
  return {
    id,
    // Images are listed out of class order (the files are keyed by id, not position).
    name: `${folder}/${folder.slice(4)}_${String(id).padStart(4, '0')}.jpg`,
    classId,
    isTrain: id % 2 === 0,
    width,
    height,
    // Image 10's box pokes out of its 30×40 image: imported clamped, with a warning.
    box: id === 10 ? [20, 30, 15, 20] : [1.5 + id, 2, 12.25, 10],
  };
});

export type CubFile =
  | 'classes.txt'
  | 'images.txt'
  | 'image_class_labels.txt'
  | 'train_test_split.txt'
  | 'bounding_boxes.txt';

/** The five CUB lists as text (classes.txt with a UTF-8 BOM, as a Windows editor saves it). */
export function cubLists(): Record<CubFile, string> {
  const lines = (f: (img: CubFixtureImage) => string): string => `${CUB_IMAGES.map(f).join('\n')}\n`;
  return {
    'classes.txt': `\uFEFF${CUB_FOLDERS.map((f, i) => `${i + 1} ${f}`).join('\n')}\n`,
    'images.txt': lines((i) => `${i.id} ${i.name}`),
    'image_class_labels.txt': lines((i) => `${i.id} ${i.classId}`),
    'train_test_split.txt': lines((i) => `${i.id} ${i.isTrain ? 1 : 0}`),
    'bounding_boxes.txt': lines((i) => `${i.id} ${i.box.join(' ')}`),
  };
}

/** Writes a CUB_200_2011 folder: the lists (each replaceable) and, unless `images` is false, the JPEGs. */
export async function writeCubRelease(
  root: string,
  overrides: Partial<Record<CubFile, string | Uint8Array>> = {},
  images = true,
): Promise<void> {
  const lists = { ...cubLists(), ...overrides };
  for (const [file, text] of Object.entries(lists)) await writeText(join(root, file), text);
  if (images) for (const img of CUB_IMAGES) await writeJpeg(join(root, 'images', img.name), img.width, img.height);
}

/** Waterbirds over the CUB fixture: y = 0 for classes 2 and 4, else 1; place = id mod 2; images 1–6 test, 7–8 val, 9–10 train. */
export function waterbirdsRow(img: CubFixtureImage): { y: number; split: number; place: number; scene: string } {
  const y = img.classId % 2 === 0 ? 0 : 1;
  const split = img.id <= 6 ? 2 : img.id <= 8 ? 1 : 0;
  const place = img.id % 2;
  return { y, split, place, scene: place === 1 ? '/o/ocean/00000001.jpg' : '/f/forest/broadleaf/00000002.jpg' };
}

/** metadata.csv with pandas' leading index column, as group_DRO's generator writes it. */
export function waterbirdsMetadata(images: readonly CubFixtureImage[] = CUB_IMAGES): string {
  const header = ',img_id,img_filename,y,split,place,place_filename';
  const rows = images.map((img, i) => {
    const r = waterbirdsRow(img);
    return `${i},${img.id},${img.name},${r.y},${r.split},${r.place},${r.scene}`;
  });
  return `${[header, ...rows].join('\n')}\n`;
}

export async function writeWaterbirdsRelease(root: string, metadata = waterbirdsMetadata()): Promise<void> {
  await writeText(join(root, 'metadata.csv'), metadata);
  for (const img of CUB_IMAGES) await writeJpeg(join(root, img.name), img.width, img.height);
}

/** A StanfordDogs annotation file (PASCAL-VOC XML, no extension) for objects given as [xmin, ymin, xmax, ymax]. */
export function dogXml(
  folder: string,
  file: string,
  size: [number, number],
  objects: readonly [number, number, number, number][],
): string {
  const breed = folder.slice(folder.indexOf('-') + 1);
  const objs = objects
    .map(
      ([xmin, ymin, xmax, ymax]) =>
        `\t<object>\n\t\t<name>${breed}</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n` +
        `\t\t<bndbox>\n\t\t\t<xmin>${xmin}</xmin>\n\t\t\t<ymin>${ymin}</ymin>\n\t\t\t<xmax>${xmax}</xmax>\n\t\t\t<ymax>${ymax}</ymax>\n\t\t</bndbox>\n\t</object>\n`,
    )
    .join('');
  return (
    `<annotation>\n\t<folder>${folder.slice(1, 9)}</folder>\n\t<filename>${file}</filename>\n\t<source>\n\t\t<database>ImageNet database</database>\n\t</source>\n` +
    `\t<size>\n\t\t<width>${size[0]}</width>\n\t\t<height>${size[1]}</height>\n\t\t<depth>3</depth>\n\t</size>\n\t<segment>0</segment>\n${objs}</annotation>\n`
  );
}

export interface DogFixtureImage {
  folder: string;
  file: string;
  width: number;
  height: number;
  xmlSize: [number, number];
  objects: [number, number, number, number][];
}

/** Three breeds, listed out of sorted order; one image shows two dogs; one XML states a wrong size; one box pokes out. */
export const DOG_IMAGES: readonly DogFixtureImage[] = [
  {
    folder: 'n02116738-African_hunting_dog',
    file: 'n02116738_1',
    width: 50,
    height: 40,
    xmlSize: [50, 40],
    objects: [[5, 6, 45, 38]],
  },
  {
    folder: 'n02085620-Chihuahua',
    file: 'n02085620_7',
    width: 80,
    height: 60,
    xmlSize: [80, 60],
    objects: [
      [10, 10, 30, 30],
      [35, 5, 70, 40],
    ],
  },
  {
    folder: 'n02086240-Shih-Tzu',
    file: 'n02086240_3',
    width: 64,
    height: 48,
    xmlSize: [48, 64],
    objects: [[4, 8, 70, 40]],
  },
];

export async function writeDogsRelease(root: string, images: readonly DogFixtureImage[] = DOG_IMAGES): Promise<void> {
  for (const img of images) {
    await writeJpeg(join(root, 'Images', img.folder, `${img.file}.jpg`), img.width, img.height);
    await writeText(
      join(root, 'Annotation', img.folder, img.file),
      dogXml(img.folder, img.file, img.xmlSize, img.objects),
    );
  }
}

/** An RGB id mask: id = R + 256·G at each pixel, from `idAt(x, y)`. */
export async function writeIdMask(
  path: string,
  width: number,
  height: number,
  idAt: (x: number, y: number) => number,
): Promise<void> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const id = idAt(x, y);
      const i = (y * width + x) * 3;
      data[i] = id % 256;
      data[i + 1] = Math.floor(id / 256);
      data[i + 2] = 77; // B is unused by the encoding; a non-zero value checks that it is ignored.
    }
  }
  await mkdir(dirname(path), { recursive: true });
  await sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path);
}
