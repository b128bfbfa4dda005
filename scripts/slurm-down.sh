#!/usr/bin/env bash
# Stop the throwaway Slurm that scripts/slurm-up.sh started.
#
#   sudo ./lesson slurm-down    (or: bash scripts/slurm-down.sh)
#
# Cancels the jobs still queued or running, ends exactly the daemons recorded
# in the state file (by PID, after checking each PID is still that daemon),
# puts back a slurm.conf (and cgroup.conf) that slurm-up.sh kept aside, and removes the
# temporary folder.  Running it when nothing is up is harmless.
set -uo pipefail

STATE=${MONTEPI_SLURM_STATE:-/run/montepi-slurm.state}
CONF=/etc/slurm/slurm.conf
MARK="# montepi: throwaway single-node Slurm"
export PATH=$PATH:/usr/sbin:/sbin

say() { printf 'slurm-down: %s\n' "$*" >&2; }

if [ ! -f "$STATE" ]; then
    say "nothing to stop (no $STATE)"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || { say "must run as root"; exit 1; }

DIR= MUNGED_PID= SLURMCTLD_PID= SLURMD_PID=
# shellcheck disable=SC1090
. "$STATE"

alive() { [ -n "${1:-}" ] && [ -d "/proc/$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }

# Jobs first, while the daemons can still end them cleanly.
if alive "$SLURMCTLD_PID" slurmctld; then
    jobs=$(timeout 5 squeue -h -o %i 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        say "cancelling jobs $jobs"
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null || true
        for _ in $(seq 100); do
            [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi

stop() {  # stop PID NAME: SIGTERM, then SIGKILL after 5 s
    local pid=$1 name=$2
    alive "$pid" "$name" || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
        alive "$pid" "$name" || return 0
        sleep 0.1
    done
    say "$name (pid $pid) ignored SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null
    sleep 0.2
}
stop "$SLURMD_PID" slurmd
stop "$SLURMCTLD_PID" slurmctld
stop "$MUNGED_PID" munged

# slurm.conf, and the cgroup.conf that slurm-up writes where there is no cgroup filesystem.
for conf in "$CONF" /etc/slurm/cgroup.conf; do
    if [ -f "$conf" ] && grep -qF "$MARK" "$conf"; then
        rm -f "$conf"
        if [ -f "$conf.montepi-backup" ]; then
            mv "$conf.montepi-backup" "$conf"
            say "restored the earlier $conf"
        fi
    fi
done
case $DIR in
    /tmp/montepi-slurm.*) rm -rf "$DIR" ;;
esac
rm -f "$STATE"
say "Slurm stopped"
