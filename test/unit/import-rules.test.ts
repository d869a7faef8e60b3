/**
 * The dependency rules of the source tree: cli → experiments → tasks → prompts/encoder → model/image,
 * nothing imports the CLI, prompts see the encoder only through its types-only request module, the
 * concrete encoder is encoder/'s own, and graph input and output names are spelled only by the graph
 * family modules (model/graphs).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../..', 'src');
const TEST = path.resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import of a file, as a path under src/ ("encoder/requests.ts"); `import type` included. */
function importsOf(file: string): { target: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const found: { target: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'";]*?from\s+'(\.[^']+)'/gm)) {
    const resolved = path.relative(SRC, path.resolve(path.dirname(file), m[2]!)).replace(/\.js$/, '.ts');
    found.push({ target: resolved, typeOnly: Boolean(m[1]) });
  }
  return found;
}

const FILES = sourceFiles(SRC).map((f) => ({ file: path.relative(SRC, f), imports: importsOf(f) }));
const layer = (p: string) => p.split(path.sep)[0]!;

/** What each top-level folder may import (besides itself and util/). */
const ALLOWED: Record<string, readonly string[]> = {
  cli: ['experiments', 'tasks', 'prompts', 'encoder', 'model', 'image', 'datasets', 'report', 'analysis', 'bench'],
  experiments: ['tasks', 'prompts', 'encoder', 'model', 'image', 'datasets', 'report'],
  analysis: ['experiments', 'tasks', 'prompts', 'encoder', 'model', 'image', 'datasets', 'report'],
  bench: ['experiments', 'tasks', 'prompts', 'encoder', 'model', 'image', 'datasets', 'report'],
  tasks: ['prompts', 'encoder', 'model', 'image', 'datasets', 'report'],
  prompts: ['encoder', 'model', 'image'],
  encoder: ['model', 'image'],
  report: ['model'],
  datasets: ['image', 'model'],
  model: [],
  image: [],
  util: [],
};

/**
 * The imports of a task folder from outside src/tasks, each a command that exists for one task only:
 * `falip data views` (point clouds), the bench's REC workload. A new task adds nothing here.
 */
const TASK_SPECIFIC_COMMANDS = [
  'cli/bench.ts → tasks/rec/demo-set.ts',
  'cli/data-views.ts → tasks/pointcloud/depth-preview.ts',
  'cli/data-views.ts → tasks/pointcloud/depth-views.ts',
  'cli/data-views.ts → tasks/pointcloud/importers/pc-import.ts',
  'cli/data-views.ts → tasks/pointcloud/view-files.ts',
].map((s) => s.replaceAll('/', path.sep));

describe('import rules', () => {
  it('the tree has the folders the rules name', () => {
    expect(FILES.length).toBeGreaterThan(50);
    for (const f of FILES) expect(Object.keys(ALLOWED), f.file).toContain(layer(f.file));
  });

  it('each folder imports only the folders below it', () => {
    const violations = FILES.flatMap((f) =>
      f.imports
        .filter((i) => {
          const from = layer(f.file);
          const to = layer(i.target);
          return to !== from && to !== 'util' && !ALLOWED[from]!.includes(to);
        })
        .map((i) => `${f.file} → ${i.target}`),
    );
    expect(violations).toEqual([]);
  });

  it('prompts import nothing from the encoder but its types-only request module, and nothing from model/onnx', () => {
    const fromPrompts = FILES.filter((f) => layer(f.file) === 'prompts').flatMap((f) =>
      f.imports.map((i) => ({ ...i, file: f.file })),
    );
    const encoderImports = fromPrompts.filter((i) => layer(i.target) === 'encoder');
    expect(encoderImports.length).toBeGreaterThan(0);
    for (const i of encoderImports) {
      expect(i.target, i.file).toBe(path.join('encoder', 'requests.ts'));
      expect(i.typeOnly, `${i.file} imports the request types with 'import type'`).toBe(true);
    }
    expect(fromPrompts.filter((i) => i.target.startsWith(path.join('model', 'onnx')))).toEqual([]);
  });

  it('a task folder imports no other task: what several tasks share lives in tasks/shared', () => {
    const taskOf = (p: string): string | undefined => {
      const [top, folder] = p.split(path.sep);
      return top === 'tasks' && folder && !folder.endsWith('.ts') && folder !== 'shared' ? folder : undefined;
    };
    const inTasks = FILES.filter((f) => taskOf(f.file));
    expect(inTasks.length).toBeGreaterThan(20);
    const crossings = inTasks.flatMap((f) =>
      f.imports
        .filter((i) => taskOf(i.target) && taskOf(i.target) !== taskOf(f.file))
        .map((i) => `${f.file} → ${i.target}`),
    );
    expect(crossings).toEqual([]);
    // tasks/shared and the task interface serve every task and know none of them.
    const shared = FILES.filter(
      (f) => f.file.startsWith(path.join('tasks', 'shared')) || f.file === path.join('tasks', 'task-definition.ts'),
    );
    expect(
      shared.flatMap((f) => f.imports.filter((i) => taskOf(i.target)).map((i) => `${f.file} → ${i.target}`)),
    ).toEqual([]);
  });

  it("only the task list names the tasks: nothing outside src/tasks imports a task folder but the CLI commands that are one task's own", () => {
    const outside = FILES.filter((f) => layer(f.file) !== 'tasks').flatMap((f) =>
      f.imports
        .filter((i) => /^tasks[/\\](rec|classification|pointcloud)[/\\]/.test(i.target))
        .map((i) => `${f.file} → ${i.target}`),
    );
    expect(outside.sort()).toEqual(TASK_SPECIFIC_COMMANDS);
  });

  it('the request module holds types only', () => {
    const text = readFileSync(path.join(SRC, 'encoder', 'requests.ts'), 'utf8');
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    const statements = code.split('\n').filter((l) => /^(export|import|const|let|function|class)\b/.test(l.trim()));
    for (const s of statements) expect(s.trim(), s).toMatch(/^(export (type|interface)|import type|export type)/);
  });

  it('only encoder/ imports the concrete encoder: everything else, tests included, holds the Encoder interface', () => {
    const clipEncoder = path.join('encoder', 'clip-encoder.ts');
    const importers = [...sourceFiles(SRC), ...sourceFiles(TEST)]
      .filter((f) => importsOf(f).some((i) => i.target === clipEncoder))
      .map((f) => path.relative(SRC, f));
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((f) => layer(f) !== 'encoder')).toEqual([]);
  });

  it('graph input and output names are spelled only in the graph family modules', () => {
    const GRAPHS = path.join('model', 'graphs');
    const inGraphs = FILES.filter((f) => f.file.startsWith(GRAPHS + path.sep));
    // The family modules name their tensors in snake_case constants (`const ATTN_BIAS = 'attn_bias'`).
    const names = new Set(
      inGraphs.flatMap((f) =>
        [...readFileSync(path.join(SRC, f.file), 'utf8').matchAll(/const [A-Z_]+ = '([a-z]+(?:_[a-z0-9]+)+)';/g)].map(
          (m) => m[1]!,
        ),
      ),
    );
    for (const n of ['pixel_values', 'attn_bias', 'bias_gate', 'hidden_in', 'image_embeds', 'cls_attn', 'input_ids'])
      expect(names).toContain(n);
    const spelled = FILES.filter((f) => !inGraphs.includes(f)).flatMap((f) => {
      // Code only: comments may name the tensors they describe.
      const text = readFileSync(path.join(SRC, f.file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      return [...names].filter((n) => new RegExp(`['"\`]${n}['"\`]`).test(text)).map((n) => `${f.file}: ${n}`);
    });
    expect(spelled).toEqual([]);
  });
});
