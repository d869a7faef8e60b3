import { Command, CommanderError } from 'commander';
import { CheckFailed, UserError } from '../util/errors.js';

/** Each command lives in its own file and adds itself to the program. */
type Register = (program: Command) => void;

async function commandModules(): Promise<Register[]> {
  const mods = await Promise.all([
    import('./eval.js'),
    import('./run.js'),
    import('./table.js'),
    import('./sweep.js'),
    import('./data.js'),
    import('./model.js'),
    import('./prompts.js'),
    import('./encode.js'),
    import('./bench.js'),
    import('./methods.js'),
    import('./merge.js'),
    import('./viz.js'),
    import('./analyze.js'),
    import('./report.js'),
    import('./results.js'),
  ]);
  return mods.map((m) => m.register);
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('falip')
    .description(
      "FALIP benchmark and evaluation harness: foveal attention masks in CLIP, the paper's tables, sweeps and baselines",
    )
    .version(process.env.npm_package_version ?? '0.1.0')
    .exitOverride()
    // commander's own errors (unknown option, bad choice, missing argument) read like falip's: one line,
    // the program's prefix, and where to look. Set before the commands are made, which inherit it.
    .configureOutput({
      outputError: (text, write) =>
        write(
          `falip: ${text
            .replace(/^error: /, '')
            .trim()
            .replaceAll('\n', ' ')} (see --help)\n`,
        ),
    });
  for (const register of await commandModules()) register(program);
  program.addHelpText(
    'after',
    `
Where falip keeps things (each a folder; an environment variable moves it):
  FALIP_RESULTS   results folders of runs without --out (default: ./results of the working directory)
  FALIP_MODELS    registered models, their built graphs and prompt sets (default: <repo>/models)
  FALIP_DATASETS  imported and generated datasets (default: <repo>/datasets)

Exit codes: 0 ok, 1 a failed check (--fail-below, --require-all, bench --check, data check), 2 bad input.
The demo sets (demo, demo-cls, demo-pc) need no download; a real dataset needs --model (falip model import).`,
  );
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    return exitCodeFor(err);
  }
}

/** Exit codes: 0 ok, 1 a failed check, 2 bad input. Only bugs print a stack trace. */
function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
      return 0;
    return 2;
  }
  if (err instanceof UserError) {
    process.stderr.write(`falip: ${err.message}\n`);
    return 2;
  }
  if (err instanceof CheckFailed) {
    process.stderr.write(`falip: ${err.message}\n`);
    return 1;
  }
  throw err;
}
