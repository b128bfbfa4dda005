#!/usr/bin/env bash
# Remove the several-hosts cluster that scripts/cluster-up.sh made, or whatever part of it exists.
#
#   sudo ./lesson cluster-down      (or: bash scripts/cluster-down.sh)
#
# Cancels the jobs still in the queue, then ends every process that runs in one of the cluster's
# network namespaces (daemons, jobs, the dask processes they started, the processes that hold the
# hosts' hostnames; SIGTERM, SIGKILL after 5 s), deletes the namespaces (and with them the bridge
# and every veth pair), and removes the cluster's folder and state file.  The namespaces have fixed
# names (montepi-switch, montepi-login, montepi-compute1, montepi-compute2), so this works without
# a state file too.  A single-host Slurm (`./lesson slurm-up`) is not touched.  Running it when
# nothing is up is harmless.  Exit status 1 if something could not be removed (said in one line).
set -uo pipefail

here=$(dirname "$(readlink -f "$0")")
# shellcheck source=scripts/cluster-lib.sh
. "$here/cluster-lib.sh"

say() { printf 'cluster-down: %s\n' "$*" >&2; }
[ "$(id -u)" -eq 0 ] || { say "must run as root"; exit 1; }

DIR= SLURMCTLD_PID=
cluster_load_state 2>/dev/null || true
namespaces=()
for ns in "$CLUSTER_SWITCH" $(for host in $CLUSTER_HOSTS; do cluster_netns "$host"; done); do
    [ -e "/run/netns/$ns" ] && namespaces+=("$ns")
done
if [ ! -f "$CLUSTER_STATE" ] && [ ${#namespaces[@]} -eq 0 ]; then
    say "nothing to remove (no $CLUSTER_STATE, no montepi-* namespaces)"
    exit 0
fi

# Jobs first, while slurmctld can still end them cleanly.
if [ -n "$DIR" ] && alive "$SLURMCTLD_PID" slurmctld; then
    jobs=$(cluster_on login timeout 5 squeue -h -o %i 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        say "cancelling jobs $jobs"
        # shellcheck disable=SC2086
        cluster_on login timeout 10 scancel $jobs 2>/dev/null || true
        for _ in $(seq 50); do
            [ -z "$(cluster_on login timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi

pids_in() {  # the pids of every process in the cluster's network namespaces
    local ns
    for ns in ${namespaces[@]+"${namespaces[@]}"}; do ip netns pids "$ns" 2>/dev/null; done
}
left=$(pids_in)
if [ -z "$DIR" ] && [ -n "$left" ]; then
    # Without a state file, the folder is the one that the daemons' command lines name.
    DIR=$(for pid in $left; do tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null; echo; done \
        | grep -o '/tmp/montepi-cluster\.[A-Za-z0-9]*' | sort -u | head -n1)
fi
if [ -n "$left" ]; then
    # shellcheck disable=SC2086
    kill -TERM $left 2>/dev/null
    for _ in $(seq 50); do
        left=$(pids_in)
        [ -z "$left" ] && break
        sleep 0.1
    done
    if [ -n "$left" ]; then
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null
        for _ in $(seq 50); do
            [ -z "$(pids_in)" ] && break
            sleep 0.1
        done
    fi
fi

problems=()
for ns in ${namespaces[@]+"${namespaces[@]}"}; do
    ip netns delete "$ns" 2>/dev/null || problems+=("namespace $ns")
done
case $DIR in
    /tmp/montepi-cluster.?*) rm -rf "$DIR" || problems+=("$DIR") ;;
esac
rm -f "$CLUSTER_STATE"
if [ ${#problems[@]} -gt 0 ]; then
    say "could not remove: ${problems[*]} (still running: $(pids_in | tr '\n' ' '))"
    exit 1
fi
say "cluster removed"
