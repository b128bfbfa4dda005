#!/bin/bash
#SBATCH --job-name=dask-worker
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=500M
#SBATCH --time=00:30:00
#SBATCH --output=%x-%j.out
#
# One dask worker per job.  It finds the scheduler through the scheduler
# file, which must be on a disk that the login node and the compute nodes
# share (your home or project folder, not /tmp), with the cluster's TLS
# certificates in tls/ beside it (ca.pem, cert.pem, key.pem: montepi's
# HandCluster makes them; by hand, python -c 'import montepi.tls as t;
# t.make_certificates("DIR/tls")').  Submit it with
#
#   sbatch --export=ALL,VENV=$PWD/.venv,SCHEDULER_FILE=$HOME/pi/scheduler.json worker.sh
#
# and stop it with scancel: the worker then leaves the scheduler cleanly.

# What this job writes (scratch space, spilled data) is yours alone: 0700 folders, 0600 files.
umask 077

# The certificates: with them the worker may join the scheduler, and nobody
# without them (another user of the login node or of this compute node) may
# join or send work.  The folder is 0700 and the files 0600.
tls="$(dirname "$SCHEDULER_FILE")/tls"
if [ ! -r "$tls/key.pem" ]; then
    echo "worker.sh: no certificates in $tls (ca.pem, cert.pem, key.pem beside the scheduler file)" >&2
    exit 2
fi

# The same Python and packages as the notebook that started the scheduler.
source "$VENV/bin/activate"

# Scratch space on the node's local disk, private to this job and removed
# when the job ends (also after scancel).
scratch=$(mktemp -d "${TMPDIR:-/tmp}/dask-worker-$SLURM_JOB_ID.XXXX")
trap 'rm -rf "$scratch"' EXIT

# --nthreads: the cores Slurm gave this job.  --memory-limit: a little under
# --mem, so dask spills to disk before Slurm would kill the job.  --host: the
# address of this node's own name, where the scheduler and the other workers
# reach it, and nowhere else (127.0.0.1 on the lesson's one-machine Slurm).
# At a site whose nodes have several networks, use --interface ib0 (or
# whichever network the compute nodes share) instead.
dask worker --scheduler-file "$SCHEDULER_FILE" \
    --nthreads "$SLURM_CPUS_PER_TASK" \
    --memory-limit 450MB \
    --local-directory "$scratch" \
    --host "$(hostname -i)" \
    --tls-ca-file "$tls/ca.pem" --tls-cert "$tls/cert.pem" --tls-key "$tls/key.pem"
