import { type Command, Option } from 'commander';
import { ARCH_NAMES, type ArchName } from '../model/clip-config.js';
import {
  DEMO_MODEL_CARD,
  DEMO_MODEL_SHA256,
  ensureTinyModel,
  importModel,
  listModels,
  TINY_MODEL,
} from '../model/model-registry.js';
import { writeRandomModel } from '../model/random-model.js';
import { UserError } from '../util/errors.js';
import { makeOption } from './options.js';

export function register(program: Command): void {
  const model = program.command('model').description('create, import and list CLIP models');

  model
    .command('random')
    .description('write a Hugging Face CLIP folder with deterministic random weights (same seed, same bytes)')
    .addOption(new Option('--arch <arch>', 'architecture').choices(ARCH_NAMES).makeOptionMandatory())
    .requiredOption('--out <dir>', 'folder to write (config.json, model.safetensors, vocab.json, merges.txt)')
    .option('--seed <n>', 'random seed', '0')
    .option(
      '--bpe <file>',
      "CLIP's bpe_simple_vocab_16e6.txt.gz: write CLIP's real vocabulary instead of a byte-level one",
    )
    .action(async (o: { arch: ArchName; out: string; seed: string; bpe?: string }) => {
      const seed = Number(o.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new UserError(`--seed ${o.seed}: expected a non-negative integer`);
      const c = await writeRandomModel({ arch: o.arch, seed, out: o.out, bpe: o.bpe });
      console.log(
        `wrote ${o.arch} (vision ${c.vision.numLayers}x${c.vision.hiddenSize}, text ${c.text.numLayers}x${c.text.hiddenSize}, vocab ${c.text.vocabSize}) to ${o.out}`,
      );
    });

  model
    .command('tiny')
    .description(
      `generate and register the built-in '${TINY_MODEL}' model (random weights, for tests; the demo sets run on the trained 'demo' model)`,
    )
    .action(async () => {
      await ensureTinyModel();
      console.log(`model '${TINY_MODEL}' is ready`);
    });

  model
    .command('import <dir>')
    .description(
      'register a Hugging Face CLIP folder (config.json, model.safetensors, vocab.json, merges.txt) under a name',
    )
    .requiredOption('--name <name>', 'name to use with --model')
    .option('--force', 'replace a model already registered under --name')
    .action(async (dir: string, o: { name: string; force?: boolean }) => {
      const rec = await importModel(dir, o.name, { force: o.force });
      console.log(
        `registered '${rec.name}' (${rec.arch}, sha256 ${rec.sha256.slice(0, 12)}, config ${rec.config_hash.slice(0, 8)}) from ${rec.source}`,
      );
    });

  model
    .command('list')
    .description('list registered models')
    .addOption(makeOption('json'))
    .action(async (o: { json?: boolean }) => {
      const listings = await listModels();
      if (o.json)
        return console.log(
          JSON.stringify(
            listings.map((l) => ('record' in l ? l.record : l)),
            null,
            2,
          ),
        );
      if (listings.length === 0)
        return console.log('no models registered (falip model tiny, or falip model import DIR --name NAME)');
      for (const l of listings) {
        if ('problem' in l) {
          console.log(`${l.name.padEnd(16)} damaged: ${l.problem} (falip model import DIR --name ${l.name} --force)`);
          continue;
        }
        const r = l.record;
        const note = r.random_weights
          ? `random weights: ${r.random_weights}`
          : r.sha256 === DEMO_MODEL_SHA256
            ? DEMO_MODEL_CARD
            : undefined;
        console.log(
          `${r.name.padEnd(16)} ${r.arch.padEnd(24)} ${r.sha256.slice(0, 12)} ${r.config_hash.slice(0, 8)}  ${r.source}${note ? `  (${note})` : ''}`,
        );
      }
    });
}
