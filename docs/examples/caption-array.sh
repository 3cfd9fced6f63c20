#!/bin/bash
# One task of a SLURM job array: it captions its own shard of the images into its own part.
#   sbatch --array=0-15 caption-array.sh          # 16 tasks
#   sbatch --array=2 caption-array.sh             # run task 2 again: it resumes its part
#   imgdesc merge captions-*.jsonl -o all.jsonl --input photos -r --shard-count 16
#SBATCH --job-name=imgdesc
#SBATCH --array=0-15
#SBATCH --cpus-per-task=2
set -euo pipefail
# The array's size: with it, a resubmitted task (--array=2) is shard 2 of 16, not 0 of 1.
export IMGDESC_SHARD_COUNT=${IMGDESC_SHARD_COUNT:-16}
# The relay's limit shared by every task: e.g. 8 requests/s ÷ 16 tasks.
export IMGDESC_MAX_RPS=${IMGDESC_MAX_RPS:-0.5}
exec imgdesc batch "${PHOTOS:-photos}" -r -c "${CONCURRENCY:-4}" -o "${OUT:-captions}-{shard}.jsonl"
