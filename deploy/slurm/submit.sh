#!/bin/bash
# Submits a fleetsim command to Slurm as SHARDS array tasks and a merge that waits for them.
#
#   deploy/slurm/submit.sh SHARDS OUT COMMAND SCENARIO [OPTIONS...]
#   deploy/slurm/submit.sh 8 results/sweep-70b-sweep sweep scenarios/sweep-70b.yaml --no-find --servers 1..16
#
# Shards go to shards/<array job id>/<index>; the merged results to OUT.
set -euo pipefail

if [ "$#" -lt 4 ]; then
    echo "usage: $0 SHARDS OUT COMMAND SCENARIO [OPTIONS...]" >&2
    exit 2
fi
shards=$1
out=$2
shift 2
here=$(dirname "$0")

array=$(sbatch --parsable --array=0-$((shards - 1)) "$here/fleetsim-array.sbatch" "$@")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$array" \
    --export=ALL,SHARDS_DIR="shards/$array" "$here/fleetsim-merge.sbatch" --out "$out")
echo "shards: array job $array (shards/$array); merge: job ${merge%%;*} into $out"
