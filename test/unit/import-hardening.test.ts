/**
 * Issue 17, what importers and decoders meet in users' folders: symbolic links (followed), list
 * entries that climb out of the release (refused before anything is opened), grayscale ImageNet-S
 * masks, XML with a DTD, a damaged HDF5 datatype, CSV quoting, CMYK JPEGs (decoded as Pillow does).
 * Each is one line naming the file (and line), or the data the reference would see.
 */
import { mkdir, readFile, rm, symlink, truncate, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkImages } from '../../src/datasets/check-images.js';
import { readImageSize } from '../../src/datasets/image-headers.js';
import { loadImage } from '../../src/image/load-image.js';
import { readClsManifest } from '../../src/tasks/classification/cls-manifest.js';
import { importCub } from '../../src/tasks/classification/importers/cub-import.js';
import { readImageNetSClassList } from '../../src/tasks/classification/importers/imagenet-s-classes.js';
import { importImageNetS } from '../../src/tasks/classification/importers/imagenet-s-import.js';
import { importStanfordDogs } from '../../src/tasks/classification/importers/stanforddogs-import.js';
import { importWaterbirds } from '../../src/tasks/classification/importers/waterbirds-import.js';
import { importModelNet40 } from '../../src/tasks/pointcloud/importers/modelnet40-import.js';
import {
  CUB_IMAGES,
  cubLists,
  DOG_IMAGES,
  dogXml,
  waterbirdsMetadata,
  writeCubRelease,
  writeDogsRelease,
  writeIdMask,
  writeJpeg,
  writeWaterbirdsRelease,
} from '../helpers/cls-release-fixtures.js';
import { userErrorMessage } from '../helpers/errors.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { damageFloatDatatype, writeModelNet } from '../helpers/pointcloud-fixtures.js';
import { useTempFalipDirs } from '../helpers/temp-falip-dirs.js';

const dirs = useTempFalipDirs('falip-import-hardening-');
const work = (...parts: string[]): string => join(dirs.root(), ...parts);

describe("8. a dataset root is the user's: links are followed, list entries stay inside", () => {
  it('StanfordDogs with a linked class folder (images and annotations) and a linked image imports every class', async () => {
    const real = work('dogs-real');
    await writeDogsRelease(real);
    const root = work('dogs-linked');
    const [linked, withLinkedImage] = [DOG_IMAGES[0]!, DOG_IMAGES[1]!];
    await writeDogsRelease(root, [DOG_IMAGES[2]!]);
    for (const top of ['Images', 'Annotation'])
      await symlink(join(real, top, linked.folder), join(root, top, linked.folder));
    await mkdir(join(root, 'Annotation', withLinkedImage.folder), { recursive: true });
    await mkdir(join(root, 'Images', withLinkedImage.folder), { recursive: true });
    await symlink(
      join(real, 'Annotation', withLinkedImage.folder, withLinkedImage.file),
      join(root, 'Annotation', withLinkedImage.folder, withLinkedImage.file),
    );
    await symlink(
      join(real, 'Images', withLinkedImage.folder, `${withLinkedImage.file}.jpg`),
      join(root, 'Images', withLinkedImage.folder, `${withLinkedImage.file}.jpg`),
    );
    const report = await importStanfordDogs({ root, multiBox: 'union', outRoot: work('dogs-out') });
    expect(report.info.counts).toMatchObject({ images: 3, classes: 3 });
    // A link to nothing is named, not skipped.
    await symlink(join(real, 'nowhere'), join(root, 'Images', 'n99999999-Ghost'));
    await userErrorMessage(
      importStanfordDogs({ root, multiBox: 'union', outRoot: work('dogs-out') }),
      `${join(root, 'Images', 'n99999999-Ghost')}: a link to`,
      'which does not exist',
    );
  });

  it("CUB: an images.txt entry that climbs out with '..' is refused before the file it names is opened", async () => {
    const root = work('cub-escape', 'CUB_200_2011');
    const lists = cubLists();
    const first = CUB_IMAGES[0]!;
    await writeCubRelease(root, {
      'images.txt': lists['images.txt'].replace(`1 ${first.name}`, '1 ../../../escaped.jpg'),
    });
    // The file is there, a valid image: only the rule stops it.
    await writeJpeg(join(root, '..', '..', 'escaped.jpg'), first.width, first.height);
    await userErrorMessage(
      importCub({ root, split: 'all', outRoot: work('cub-out') }),
      `${join(root, 'images.txt')}:1: image_name: "../../../escaped.jpg" must stay inside the images/ folder`,
    );
  });
});

describe('9. ImageNet-S masks must be RGB id masks', () => {
  it('grayscale and gray+alpha masks are refused; an RGB mask still decodes', async () => {
    const { wnids } = await readImageNetSClassList();
    const wnid = wnids[0]!;
    const root = work('imagenet-s');
    const image = join(root, 'validation', wnid, 'ILSVRC2012_val_00000001.JPEG');
    const mask = join(root, 'validation-segmentation', wnid, 'ILSVRC2012_val_00000001.png');
    await writeJpeg(image, 20, 10);
    await writeIdMask(mask, 20, 10, (x) => (x < 5 ? 1 : 0));
    expect((await importImageNetS({ root, outRoot: work('ins-out') })).info.counts.images).toBe(1);
    for (const channels of [1, 2] as const) {
      // Gray value 1 where the class is: read as RGB it would be id 1 + 256·1 = 257, another class.
      const pixels = Buffer.alloc(20 * 10 * channels);
      for (let i = 0; i < 20 * 10; i++) {
        pixels[i * channels] = i % 20 < 5 ? 1 : 0;
        if (channels === 2) pixels[i * 2 + 1] = 255;
      }
      await sharp(pixels, { raw: { width: 20, height: 10, channels } })
        .toColourspace('b-w')
        .png()
        .toFile(mask);
      await userErrorMessage(
        importImageNetS({ root, outRoot: work('ins-out') }),
        `${mask}: mask: expected an RGB mask (id = R + 256·G), found a grayscale`,
      );
    }
  });
});

describe('one line for what used to be a stack trace or an unclear message', () => {
  it('StanfordDogs XML with a DOCTYPE or an ENTITY is refused (entities are never resolved)', async () => {
    const root = work('dogs-dtd');
    await writeDogsRelease(root, DOG_IMAGES.slice(0, 1));
    const dog = DOG_IMAGES[0]!;
    const xml = join(root, 'Annotation', dog.folder, dog.file);
    const good = dogXml(dog.folder, dog.file, dog.xmlSize, dog.objects);
    await writeFile(
      xml,
      `<?xml version="1.0"?>\n<!DOCTYPE annotation [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n${good}`,
    );
    await userErrorMessage(
      importStanfordDogs({ root, multiBox: 'union', outRoot: work('dtd-out') }),
      `${xml}:2: (xml): a <!DOCTYPE> declaration is not allowed in an annotation`,
    );
  });

  it('a damaged HDF5 datatype message', async () => {
    const root = work('modelnet-damaged');
    await writeModelNet(root, { 'ply_data_test0.h5': { clouds: [0, 1], labels: [0, 5], labelLayout: 'modelnet' } });
    const h5 = join(root, 'ply_data_test0.h5');
    await damageFloatDatatype(h5);
    await userErrorMessage(importModelNet40({ root, outRoot: work('h5-out') }), `${h5}: data: cannot read:`);
  });

  it('Waterbirds metadata.csv: a quoted line break keeps later line numbers; an unterminated quote names its line', async () => {
    const cub = work('wb', 'CUB_200_2011');
    await writeCubRelease(cub);
    const metadata = waterbirdsMetadata(CUB_IMAGES.slice(0, 3)).split('\n');
    // Line 2's place_filename holds a quoted line break; line 5 (the third row) has a y that is no class.
    metadata[1] = metadata[1]!.replace('/o/ocean/00000001.jpg', '"/o/ocean/\n00000001.jpg"');
    metadata[3] = metadata[3]!.replace(/^(\d+,\d+,[^,]+),\d/, '$1,7');
    const root = work('wb', 'quoted');
    await writeWaterbirdsRelease(root, metadata.join('\n'));
    await userErrorMessage(
      importWaterbirds({ root, cubRoot: cub, split: 'all', outRoot: work('wb-out') }),
      `${join(root, 'metadata.csv')}:5: y: expected one of 0, 1, got 7`,
    );
    const open = work('wb', 'unterminated');
    await writeWaterbirdsRelease(open, waterbirdsMetadata(CUB_IMAGES.slice(0, 3)).replace(',/o/ocean/', ',"/o/ocean/'));
    const message = await userErrorMessage(
      importWaterbirds({ root: open, cubRoot: cub, split: 'all', outRoot: work('wb-out') }),
      `${join(open, 'metadata.csv')}:2: (csv): a quoted field opened on this line is never closed`,
    );
    expect(message.length).toBeLessThan(300);
  });

  it("a JPEG cut short: libvips' repeated warnings stay out of the one line (header read, decode, data check)", async () => {
    const jpeg = work('cut', 'bird.jpg');
    await writeJpeg(jpeg, 40, 30);
    await truncate(jpeg, Math.floor((await stat(jpeg)).size / 2));
    const oneLine = (message: string) => expect(message.split('\n'), message).toHaveLength(1);
    oneLine(await userErrorMessage(readImageSize(jpeg, 'manifest.jsonl:4', 'image'), 'manifest.jsonl:4: image'));
    oneLine(await userErrorMessage(loadImage(jpeg), `${jpeg}: cannot decode image`));
    const errors = await checkImages(
      [{ where: 'manifest.jsonl:4', sample: { image: 'bird.jpg', width: 40, height: 30 } }],
      work('cut'),
    );
    expect(errors).toHaveLength(1);
    oneLine(errors[0]!);
    expect(errors[0]).toContain(`${jpeg} does not decode`);
  });

  it("a CMYK JPEG decodes to the pixels of Pillow's convert('RGB'), the reference pipeline's", async () => {
    const expected = JSON.parse(await readFile(join(FIXTURES, 'cmyk', 'expected.json'), 'utf8')) as {
      width: number;
      height: number;
      rgb: number[];
    };
    const image = await loadImage(join(FIXTURES, 'cmyk', 'cmyk.jpg'));
    expect([image.width, image.height]).toEqual([expected.width, expected.height]);
    expect(Array.from(image.data)).toEqual(expected.rgb);
  });
});

describe('the import reads its inputs once the target is known to be usable', () => {
  beforeAll(async () => {
    await rm(work('never'), { recursive: true, force: true });
  });

  it('--out-root below a file is refused before the release is read', async () => {
    const file = work('a-file');
    await writeFile(file, 'x');
    await userErrorMessage(
      importCub({ root: work('never'), split: 'all', outRoot: join(file, 'datasets') }),
      `--out-root ${join(file, 'datasets')}: ${file} is a file, not a folder`,
    );
    const dogs = await readClsManifest(join(work('dogs-out'), 'stanforddogs', 'all', 'manifest.jsonl'));
    expect(dogs.length).toBeGreaterThan(0);
  });
});
