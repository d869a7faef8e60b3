#!/usr/bin/env bash
# Queues a table as an array of shards and its merge, which starts once every shard succeeded:
#   CONFIG=configs/table1.yaml SHARDS=8 bash examples/slurm/submit.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARDS=${SHARDS:-8}
mkdir -p results/slurm
array=$(sbatch --parsable --export=ALL --array=0-$((SHARDS - 1)) examples/slurm/table-shard.sbatch)
sbatch --export=ALL --dependency=afterok:"$array" examples/slurm/merge.sbatch
