import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImageNetSClassList } from '../../src/tasks/classification/importers/imagenet-s-classes.js';
import { REPO_ROOT } from '../../src/util/repo-paths.js';

const readJson = async (path: string): Promise<unknown> => JSON.parse(await readFile(join(REPO_ROOT, path), 'utf8'));

describe('configs/classnames/imagenet-s-919.json', () => {
  it('has 919 unique wnids in sorted order, each with a name, and says where they came from', async () => {
    const config = (await readJson('configs/classnames/imagenet-s-919.json')) as {
      source: string;
      names: { wnid: string; name: string }[];
    };
    expect(config.source).toContain('LUSSeg/ImageNet-S');
    const wnids = config.names.map((n) => n.wnid);
    expect(wnids).toHaveLength(919);
    expect(new Set(wnids).size).toBe(919);
    expect(wnids).toEqual([...wnids].sort());
    expect(config.names.every((n) => /^n\d{8}$/.test(n.wnid) && n.name.trim() !== '')).toBe(true);
  });

  it('aligns names with wnids (spot checks), keeps both cranes and holds no merged-away class', async () => {
    const list = await readImageNetSClassList();
    const nameOf = new Map(list.wnids.map((w, i) => [w, list.names[i]]));
    expect(nameOf.get('n01440764')).toBe('tench');
    expect(nameOf.get('n01443537')).toBe('goldfish');
    expect(nameOf.get('n02085620')).toBe('Chihuahua');
    expect(nameOf.get('n02012849')).toBe('crane');
    expect(nameOf.get('n03126707')).toBe('crane');
    expect(nameOf.get('n15075141')).toBe('toilet tissue');
    expect(list.names.filter((n) => n === 'crane')).toHaveLength(2);
    // ImageNet-S's five merges: the targets are classes, the merged ones are not.
    for (const kept of ['n04355933', 'n02808440', 'n03832673', 'n03773504', 'n15075141'])
      expect(nameOf.has(kept)).toBe(true);
    for (const merged of ['n04356056', 'n04493381', 'n03642806', 'n04008634', 'n03887697'])
      expect(nameOf.has(merged)).toBe(false);
  });
});

describe('configs/templates/imagenet-80.json', () => {
  it("holds CLIP's 80 ImageNet templates, unique, each with one {}", async () => {
    const config = (await readJson('configs/templates/imagenet-80.json')) as { source: string; templates: string[] };
    expect(config.source).toContain('openai/CLIP');
    expect(config.templates).toHaveLength(80);
    expect(new Set(config.templates).size).toBe(80);
    for (const t of config.templates) expect(t.split('{}')).toHaveLength(2);
    expect(config.templates[0]).toBe('a bad photo of a {}.');
    expect(config.templates).toContain('itap of a {}.');
    expect(config.templates.at(-1)).toBe('a tattoo of the {}.');
  });
});
