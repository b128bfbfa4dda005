#!/usr/bin/env bash
# Run COMMAND where `./lesson slurm-up` can start a Slurm of its own beside any other Slurm on this
# machine (a shared development machine runs one), for the tests of slurm-up's own failures.
# Root only; Linux namespaces (unshare).
#
#   tests/support/slurm-sandbox.sh [--no-cgroup] COMMAND...
#
# COMMAND runs in its own PID namespace (it sees and can stop only its own daemons), its own network
# namespace (its own 127.0.0.1, so Slurm's ports 6817/6818 are free), and its own mounts: private
# tmpfs over /run, /etc/slurm, /var/lib/munge, /var/log/munge and /var/spool/slurmctld, so nothing of
# the machine's Slurm or munge is read or changed (a second loopback address gives Slurm one to resolve).  /etc/munge (the key) is shared read-only.
# --no-cgroup: /sys/fs/cgroup is unmounted inside, as in a container or chroot without cgroups.
# Everything ends with the PID namespace when COMMAND returns.  Exit status: COMMAND's.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "slurm-sandbox: needs root" >&2; exit 1; }
no_cgroup=0
if [ "${1:-}" = --no-cgroup ]; then no_cgroup=1; shift; fi
export MONTEPI_SANDBOX_NO_CGROUP=$no_cgroup
exec unshare --mount --net --pid --fork --mount-proc bash -c '
    set -euo pipefail
    mount --make-rprivate /
    ip link set lo up
    # Slurm resolves its listening address with AI_ADDRCONFIG, which finds nothing while 127.0.0.1 is
    # the only address: a private one besides it, on the same loopback (nothing is routed anywhere).
    ip addr add 10.254.254.1/32 dev lo
    for dir in /run /etc/slurm /var/lib/munge /var/log/munge /var/spool/slurmctld; do
        mkdir -p "$dir"
        mount -t tmpfs -o mode=755 sandbox "$dir"
    done
    mount --bind -o ro /etc/munge /etc/munge 2>/dev/null || true
    if [ "$MONTEPI_SANDBOX_NO_CGROUP" = 1 ]; then
        # Deepest first: the controllers, then /sys/fs/cgroup itself.
        for point in $(awk '"'"'$2 ~ "^/sys/fs/cgroup" {print $2}'"'"' /proc/mounts | sort -r); do
            umount -l "$point"
        done
    fi
    "$@"
' sandbox "$@"
