import { type Command, Option } from 'commander';
import { TRAINER_NAMES, type TrainerName } from '../model/learned-prompts/learned-prompts.js';
import type { PromptSetInfo } from '../model/learned-prompts/prompt-set.js';
import { importPromptSet, listPromptSets } from '../model/learned-prompts/prompt-registry.js';
import { ensureBuiltInModel } from '../model/model-registry.js';
import { resolveModel } from '../model/model-store.js';
import { makeOption } from './options.js';

/** `coop, n_ctx 4 (class-specific, 3 classes), text depth 1, vision 3 tokens to depth 5`. */
function describe(info: PromptSetInfo): string {
  const ctx = info.classes === null ? '' : ` (class-specific, ${info.classes} classes)`;
  const vision = info.vision ? `vision ${info.vision.nCtx} tokens to depth ${info.vision.depth}` : 'no vision prompts';
  return `${info.trainer}, n_ctx ${info.nCtx}${ctx}, text depth ${info.textDepth}, ${vision}`;
}

export function register(program: Command): void {
  const prompts = program
    .command('prompts')
    .description("import and list prompt-tuned CLIPs' learned prompts (CoOp, KgCoOp, IVLP, PromptSRC, MaPLe)");

  prompts
    .command('import <checkpoint>')
    .description(
      "register a Dassl checkpoint's learned prompts (model.pth.tar-N) for a base CLIP, checking every width, layer and frozen tensor against it",
    )
    .requiredOption('--model <name|dir>', 'the base CLIP the prompts were trained on (registered name or folder)')
    .requiredOption('--name <name>', 'name to use with --prompts')
    .addOption(
      new Option(
        '--trainer <trainer>',
        "the checkpoint's trainer (default: detected from its tensor names; a PromptSRC file trimmed to its prompts reads as IVLP)",
      ).choices(TRAINER_NAMES),
    )
    .option('--force', 'replace a prompt set already registered under --name')
    .action(async (checkpoint: string, o: { model: string; name: string; trainer?: TrainerName; force?: boolean }) => {
      await ensureBuiltInModel(o.model);
      const model = await resolveModel(o.model);
      const { info, imported } = await importPromptSet(checkpoint, model, o.name, {
        ...(o.trainer && { trainer: o.trainer }),
        force: o.force,
      });
      const epoch = info.checkpoint.epoch === null ? 'no epoch' : `epoch ${info.checkpoint.epoch}`;
      console.log(
        `registered prompts '${o.name}' for model '${model.name}': ${describe(info)}; ${epoch}; checkpoint sha256 ${info.checkpoint.sha256.slice(0, 12)} (${info.checkpoint.path})`,
      );
      console.log(
        info.frozenCompared > 0
          ? `frozen CLIP tensors compared with the base model: ${info.frozenCompared}, all equal within the stored dtype's rounding`
          : `frozen CLIP tensors compared: none (a prompt-only checkpoint holds none: its widths match the base model, but nothing in it shows it was trained on this CLIP)`,
      );
      if (imported.ignored.length > 0)
        console.log(
          `ignored: ${imported.ignored.join(', ')} (class-token buffers are rebuilt from the class names being evaluated)`,
        );
    });

  prompts
    .command('list')
    .description('list registered prompt sets, per base model')
    .addOption(makeOption('json'))
    .action(async (o: { json?: boolean }) => {
      const listings = await listPromptSets();
      if (o.json) return console.log(JSON.stringify(listings, null, 2));
      if (listings.length === 0)
        return console.log('no prompt sets registered (falip prompts import CKPT --model BASE --name NAME)');
      for (const l of listings) {
        const name = `${l.model}/${l.name}`.padEnd(24);
        if ('problem' in l) {
          console.log(`${name} damaged: ${l.problem}`);
          continue;
        }
        const c = l.info.checkpoint;
        console.log(
          `${name} ${describe(l.info)}; ${c.epoch === null ? 'no epoch' : `epoch ${c.epoch}`}; sha256 ${c.sha256.slice(0, 12)}  ${c.path}`,
        );
      }
    });
}
