/**
 * The ten CoOp datasets besides ImageNet as CoOp lays them out (KaiyangZhou/CoOp: DATASETS.md and
 * datasets/*.py, the layout every later prompt-learning code base, FVG-PT's included, keeps).
 *
 * Each has a dataset folder (`$DATA/<folder>/`) holding the images under a sub-folder and a split file
 * whose image paths are relative to that sub-folder. Nine use CoOp's `split_zhou_<Name>.json`
 * (`{"train"|"val"|"test": [[path, label, class name], ...]}`); FGVCAircraft has none: CoOp reads the
 * release's own `variants.txt` and `images_variant_<split>.txt`.
 *
 * The class names in a split_zhou file are the ones CoOp's generator wrote, its renames already
 * applied; falip reads them from the file and only applies the rule every CoOp prompt applies at
 * encoding time (`name.replace("_", " ")` in trainers/coop.py's PromptLearner and zsclip.py's
 * ZeroshotCLIP). `names` below records, per dataset, how the generator made them:
 *
 * | dataset | image folder | split file | class names in the split file |
 * |---|---|---|---|
 * | caltech101 | caltech-101/101_ObjectCategories/ | split_zhou_Caltech101.json | folder names, BACKGROUND_Google and Faces_easy left out (100 classes); airplanes→airplane, Faces→face, Leopards→leopard, Motorbikes→motorbike |
 * | oxford_pets | oxford_pets/images/ | split_zhou_OxfordPets.json | the breed of the file name (all but its last `_` part), lower-cased: Abyssinian_100.jpg → abyssinian |
 * | stanford_cars | stanford_cars/ (paths start cars_train/ or cars_test/) | split_zhou_StanfordCars.json | devkit cars_meta.mat names with the year moved to the front: "2012 Audi TTS Coupe" |
 * | oxford_flowers | oxford_flowers/jpg/ | split_zhou_OxfordFlowers.json | cat_to_name.json's names |
 * | food101 | food-101/images/ | split_zhou_Food101.json | folder names (apple_pie) |
 * | fgvc_aircraft | fgvc_aircraft/images/ (the release's data/ renamed) | variants.txt + images_variant_<split>.txt | variants.txt lines; label = line index in file order (not sorted) |
 * | sun397 | sun397/SUN397/ | split_zhou_SUN397.json | the category path without its letter, parts reversed: /a/apartment_building/outdoor → "outdoor apartment_building" |
 * | dtd | dtd/images/ | split_zhou_DescribableTextures.json | folder names (banded) |
 * | eurosat | eurosat/2750/ | split_zhou_EuroSAT.json | folder names renamed: AnnualCrop → Annual Crop Land, HerbaceousVegetation → Herbaceous Vegetation Land, Highway → Highway or Road, Industrial → Industrial Buildings, Pasture → Pasture Land, PermanentCrop → Permanent Crop Land, Residential → Residential Buildings, SeaLake → Sea or Lake |
 * | ucf101 | ucf101/UCF-101-midframes/ | split_zhou_UCF101.json | the action split before each capital and joined by `_` (ApplyEyeMakeup → Apply_Eye_Makeup), also the frame folder's name |
 *
 * Templates: CoOp's trainers/zsclip.py CUSTOM_TEMPLATES, keyed by the Dassl dataset class.
 */

export interface CoopDataset {
  /** falip's name: CoOp's configs/datasets/<name>.yaml. */
  name: string;
  /** As the prompt-learning papers' tables print it. */
  label: string;
  /** The Dassl dataset class (DATASET.NAME), CUSTOM_TEMPLATES' key. */
  dassl: string;
  /** CoOp's dataset folder under $DATA (`dataset_dir`). */
  folder: string;
  /** The folder the split file's paths are relative to, inside the dataset folder ('' = the folder itself). */
  images: string;
  /** A split_zhou JSON file, or FGVCAircraft's release lists. */
  splitFile: string | 'fgvc-lists';
  template: string;
  /** How CoOp made the class names (see the table above), for classes.json. */
  names: string;
}

const PHOTO = 'a photo of a {}.';

export const COOP_DATASETS: readonly CoopDataset[] = [
  {
    name: 'caltech101',
    label: 'Caltech101',
    dassl: 'Caltech101',
    folder: 'caltech-101',
    images: '101_ObjectCategories',
    splitFile: 'split_zhou_Caltech101.json',
    template: PHOTO,
    names:
      'CoOp: 101_ObjectCategories folder names without BACKGROUND_Google and Faces_easy; airplanes→airplane, Faces→face, Leopards→leopard, Motorbikes→motorbike',
  },
  {
    name: 'oxford_pets',
    label: 'OxfordPets',
    dassl: 'OxfordPets',
    folder: 'oxford_pets',
    images: 'images',
    splitFile: 'split_zhou_OxfordPets.json',
    template: 'a photo of a {}, a type of pet.',
    names: "CoOp: the breed part of the release's file names, lower-cased",
  },
  {
    name: 'stanford_cars',
    label: 'StanfordCars',
    dassl: 'StanfordCars',
    folder: 'stanford_cars',
    images: '',
    splitFile: 'split_zhou_StanfordCars.json',
    template: PHOTO,
    names: "CoOp: the devkit's cars_meta names with the year moved to the front",
  },
  {
    name: 'oxford_flowers',
    label: 'Flowers102',
    dassl: 'OxfordFlowers',
    folder: 'oxford_flowers',
    images: 'jpg',
    splitFile: 'split_zhou_OxfordFlowers.json',
    template: 'a photo of a {}, a type of flower.',
    names: "CoOp: cat_to_name.json's names",
  },
  {
    name: 'food101',
    label: 'Food101',
    dassl: 'Food101',
    folder: 'food-101',
    images: 'images',
    splitFile: 'split_zhou_Food101.json',
    template: 'a photo of {}, a type of food.',
    names: 'CoOp: images/ folder names',
  },
  {
    name: 'fgvc_aircraft',
    label: 'FGVCAircraft',
    dassl: 'FGVCAircraft',
    folder: 'fgvc_aircraft',
    images: 'images',
    splitFile: 'fgvc-lists',
    template: 'a photo of a {}, a type of aircraft.',
    names: "the release's variants.txt, one class a line; label = line index (CoOp's fgvc_aircraft.py)",
  },
  {
    name: 'sun397',
    label: 'SUN397',
    dassl: 'SUN397',
    folder: 'sun397',
    images: 'SUN397',
    splitFile: 'split_zhou_SUN397.json',
    template: PHOTO,
    names: 'CoOp: the SUN397 category path without its first letter, its parts reversed (outdoor first)',
  },
  {
    name: 'dtd',
    label: 'DTD',
    dassl: 'DescribableTextures',
    folder: 'dtd',
    images: 'images',
    splitFile: 'split_zhou_DescribableTextures.json',
    template: '{} texture.',
    names: 'CoOp: images/ folder names',
  },
  {
    name: 'eurosat',
    label: 'EuroSAT',
    dassl: 'EuroSAT',
    folder: 'eurosat',
    images: '2750',
    splitFile: 'split_zhou_EuroSAT.json',
    template: 'a centered satellite photo of {}.',
    names: 'CoOp: 2750/ folder names renamed (AnnualCrop→Annual Crop Land, SeaLake→Sea or Lake, ...)',
  },
  {
    name: 'ucf101',
    label: 'UCF101',
    dassl: 'UCF101',
    folder: 'ucf101',
    images: 'UCF-101-midframes',
    splitFile: 'split_zhou_UCF101.json',
    template: 'a photo of a person doing {}.',
    names: 'CoOp: the action names split before each capital and joined by _ (ApplyEyeMakeup→Apply_Eye_Makeup)',
  },
];

export const COOP_SPLITS = ['train', 'val', 'test'] as const;
export type CoopSplit = (typeof COOP_SPLITS)[number];

/** What CoOp's prompts do to every class name before it enters a template. */
export function coopPromptName(name: string): string {
  return name.replaceAll('_', ' ');
}

export function coopTemplateSource(dassl: string): string {
  return `CoOp trainers/zsclip.py CUSTOM_TEMPLATES["${dassl}"], the zero-shot template of the prompt-learning papers`;
}
