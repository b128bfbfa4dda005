#!/bin/bash
#SBATCH --job-name=montepi-estimate
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=00:10:00
#SBATCH --output=%x-%j.out
#
# A whole estimate as one batch job: a process pool on the cores that Slurm
# gave this job, no scheduler needed.  Submit it with
#
#   sbatch --export=ALL,VENV=$PWD/.venv estimate.sh 1e9
#
# The first argument is the number of darts (default 1e8).  The result is one
# JSON line at the end of montepi-estimate-JOBID.out.

source "$VENV/bin/activate"

echo "job $SLURM_JOB_ID: $SLURM_CPUS_PER_TASK cores on $SLURM_JOB_NODELIST"
python -m montepi pool --samples "${1:-1e8}" --workers "$SLURM_CPUS_PER_TASK" --json
