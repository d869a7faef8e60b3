import type { RunDetails, RunKey } from '../../src/experiments/run-json.js';
import { archConfig } from '../../src/model/clip-config.js';

/** A well-formed run key (a one-row REC run on demo/val) with `sampleSeed` as its only changeable part. */
export function runKeyFixture(sampleSeed = 3): RunKey {
  return {
    task: 'rec',
    model: { sha256: 'a'.repeat(64), config: 'b'.repeat(64), precision: 'fp32' },
    rows: [{ key: 'falip', methods: [{ name: 'falip', params: { alpha: 0.2 } }], options: { setting: 'gold' } }],
    splits: [{ key: 'demo/val', content: 'c'.repeat(64) }],
    sampling: { limit: null, sample_seed: sampleSeed },
  };
}

/** Well-formed details of `runKeyFixture`'s run, titled `title`. */
export function runDetailsFixture(title: string): RunDetails {
  return {
    title,
    model: { name: 'tiny', device: 'cpu', vision: archConfig('tiny', 514).vision, random_weights: null },
    render: {
      config: {
        name: 'eval-demo',
        title,
        task: 'rec',
        arch: 'vit-b-16',
        columns: [{ key: 'demo/val', data: 'demo/val', label: 'demo val', metric: 'accuracy' }],
        rows: [{ key: 'falip', label: 'falip', methods: [{ name: 'falip', params: {} }], paper: {}, options: {} }],
        average: false,
        footnotes: [],
      },
      footnotes: [],
      withheld: [],
      not_imported: [],
      bootstrap_seed: 0,
      hide_paper: false,
      partial_splits: {},
    },
    expected_records: 1,
  };
}
