#!/usr/bin/env bash
# Run a command on one host of the several-hosts cluster (scripts/cluster-up.sh), as if logged in
# there: its network, hostname and /etc/hosts, with SLURM_CONF naming the cluster's Slurm.
#
#   sudo ./lesson cluster-on login sinfo
#   sudo ./lesson cluster-on compute1        (a shell on compute1)
#
# Exit status: the command's; 1 if the cluster or the host is not up, 2 for an unknown host.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=scripts/cluster-lib.sh
. "$here/cluster-lib.sh"

say() { printf 'cluster-on: %s\n' "$*" >&2; }
host=${1:-}
cluster_address "$host" >/dev/null 2>&1 || { say "which host? one of: $CLUSTER_HOSTS"; exit 2; }
shift
[ "$(id -u)" -eq 0 ] || { say "must run as root (it enters namespaces)"; exit 1; }
cluster_load_state || { say "the cluster is not up (no $CLUSTER_STATE); start it with ./lesson cluster-up"; exit 1; }
[ $# -gt 0 ] || set -- "${SHELL:-/bin/bash}"
enter=$(cluster_nsenter "$host")
export SLURM_CONF=$DIR/etc/slurm.conf
# exec: the command is this process, so a caller's signals reach it.  --wd: in the folder the caller
# is in, as after logging in there with a shared home (entering the mount namespace would start at /).
# shellcheck disable=SC2086
exec ${enter% --} --wd="$PWD" -- "$@"
