/**
 * The method registry: every parameter of every registered method reaches the key that identifies its
 * features, the footnote and the command line, by construction; composition rules.
 */
import { describe, expect, it } from 'vitest';
import { archConfig } from '../../src/model/clip-config.js';
import { makeMethod, methodFootnotes, methodNames, paramTableOf } from '../../src/prompts/method.js';
import type { ParamSpec } from '../../src/prompts/params.js';
import { allMethodParams, METHOD_DEFINITIONS, methodParts } from '../../src/prompts/registry.js';
import { UserError } from '../../src/util/errors.js';

const vision = archConfig('vit-b-16', 49408).vision;

/** A valid value other than the default, for any parameter of the registry. */
function otherValue(spec: ParamSpec): unknown {
  const fallback = spec.schema.parse(undefined);
  const candidates = [1, 2, 3, 0.5, 'b', 'c', 'foreground', 'attn-input', '1-2', 'last 2', 'auto'];
  const other = candidates.find(
    (c) =>
      c !== fallback &&
      spec.schema.safeParse(c).success &&
      JSON.stringify(spec.resolve(spec.schema.parse(c), vision)) !== JSON.stringify(spec.resolve(fallback, vision)),
  );
  if (other === undefined) throw new Error(`no alternative value for ${spec.label}`);
  return other;
}

describe('method registry', () => {
  it('names are unique and each summary is one line', () => {
    const names = methodNames();
    expect(new Set(names).size).toBe(names.length);
    for (const d of METHOD_DEFINITIONS) expect(d.summary).not.toMatch(/\n/);
    expect(names).toEqual(
      expect.arrayContaining([
        'plain',
        'falip',
        'redcircle',
        'redcircle+blur',
        'blur',
        'crop',
        'shade',
        'grayscale',
        'pasta',
        'feature-mask',
        'replace-v',
        'replace-qk',
        'unleash',
      ]),
    );
  });

  it('every parameter of every method changes its key and appears in its footnote; defaults give equal keys', () => {
    let checked = 0;
    for (const d of METHOD_DEFINITIONS) {
      const name = d.needs?.includes('edit') ? `redcircle+${d.name}` : d.name;
      const base = makeMethod(name, {}, vision, 'test');
      expect(makeMethod(name, {}, vision, 'test').key).toBe(base.key);
      for (const [param, spec] of Object.entries(d.params) as [string, ParamSpec][]) {
        const changed = makeMethod(name, { [param]: otherValue(spec) }, vision, 'test');
        expect(changed.key, `${name} ${param}`).not.toBe(base.key);
        expect(methodFootnotes([base.description])[0], `${name} ${param}`).toContain(`${spec.label} `);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('the command line has one flag per parameter name, shared by the methods that read it', () => {
    const flags = allMethodParams().map(([name]) => name);
    expect(new Set(flags).size).toBe(flags.length);
    for (const d of METHOD_DEFINITIONS) for (const p of Object.keys(d.params)) expect(flags).toContain(p);
    // A name means one parameter: every method reading `layers` reads the same spec.
    for (const [name, spec] of allMethodParams()) {
      for (const d of METHOD_DEFINITIONS)
        if (name in d.params) expect((d.params as Record<string, ParamSpec>)[name]).toBe(spec);
    }
  });

  it('composes parts into one request: RedCircle pixels with the foveal mask, parameters united', () => {
    const parts = methodParts('redcircle+falip')!;
    expect(parts.map((p) => p.name)).toEqual(['redcircle', 'falip']);
    expect(Object.keys(paramTableOf(parts))).toEqual([
      'circle_thickness',
      'enlarge',
      'alpha',
      'sigma',
      'form',
      'layers',
      'heads',
      'tokens',
    ]);
    const m = makeMethod('redcircle+falip', { alpha: 0.5, enlarge: 4 }, vision, 'test');
    const request = m.prepare({ width: 640, height: 480, box: [10, 20, 100, 80] });
    expect(request.edit?.key).toContain('"enlarge":4');
    expect(Math.max(...request.attention!.bias)).toBeCloseTo(0.5, 6);
    expect(m.editsPixels).toBe(true);
    // The longest registered name wins: FALIP's circle, then unleash.
    expect(methodParts('redcircle+blur+unleash')!.map((p) => p.name)).toEqual(['redcircle+blur', 'unleash']);
  });

  it('refuses compositions that cannot be one request, and unknown names, naming where', () => {
    expect(() => makeMethod('redcircle+crop', {}, vision, 'x.yaml:3')).toThrow(
      new UserError(
        "x.yaml:3: method 'redcircle+crop': redcircle and crop both set the image edit; compose prompts that do different things",
      ),
    );
    expect(() => makeMethod('falip+pasta', {}, vision, 'here')).toThrow(/falip and pasta both set the attention/);
    expect(() => makeMethod('falip+nothing', {}, vision, 'here')).toThrow(/^here: unknown method 'falip\+nothing'/);
    expect(() => makeMethod('falip', { layers: '13' }, vision, 'here')).toThrow(
      new UserError("here: layers: layer selection '13': layers are 1-12 for this model"),
    );
  });

  it('"last 4" is 9-12 on ViT-B/16 and 21-24 on ViT-L/14: one key per resolved selection', () => {
    const l14 = archConfig('vit-l-14', 49408).vision;
    expect(makeMethod('falip', {}, vision, 't').params.layers).toEqual([8, 9, 10, 11]);
    expect(makeMethod('falip', {}, l14, 't').params.layers).toEqual([20, 21, 22, 23]);
    expect(makeMethod('falip', { layers: '9-12' }, vision, 't').key).toBe(makeMethod('falip', {}, vision, 't').key);
  });
});

describe('methodFootnotes', () => {
  const vision = archConfig('tiny', 514).vision;
  it('gives rows of one method one footnote: the shared parameters once, the varying ones named', () => {
    const notes = methodFootnotes(
      [0.05, 0.2, 0.6].flatMap((alpha) =>
        [1, 100].map((sigma) => makeMethod('falip', { alpha, sigma }, vision, 't').description),
      ),
    );
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^Method falip: .*\(form a, layers 9-12, heads all, tokens box, α, σ by row\)\.$/);
  });

  it('keeps one footnote per distinct method, each in full when its rows agree', () => {
    const notes = methodFootnotes([
      makeMethod('falip', {}, vision, 't').description,
      makeMethod('falip', {}, vision, 't').description,
      makeMethod('crop', {}, vision, 't').description,
    ]);
    expect(notes).toEqual([expect.stringContaining('(α 0.2, σ 100, form a'), expect.stringMatching(/^Method crop: /)]);
  });
});
