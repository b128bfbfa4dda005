#!/usr/bin/env bash
# Start a throwaway single-node Slurm on this machine, for notebook 06 and its tests.
#
#   sudo ./lesson slurm-up      (or: bash scripts/slurm-up.sh)
#
# Debian only, as root.  It installs slurmctld, slurmd, slurm-client and munge
# when they are missing, writes /etc/slurm/slurm.conf (an existing one is kept
# as /etc/slurm/slurm.conf.montepi-backup), starts munged, slurmctld and slurmd
# with their state and logs in a fresh temporary folder, and waits until the
# node "localhost" is idle.  Everything it started is recorded in $STATE, so
# that `./lesson slurm-down` stops exactly that.  Running it twice is harmless.
#
# This is a teaching cluster: one node, one partition ("debug"), no accounting,
# no cgroups, everything on 127.0.0.1.  Never use this configuration on a
# machine that other people share.
#
# Where it cannot come up it says the cause first, in one line with the fix, for
# the causes met so far: a port Slurm needs is taken, munge does not start or
# answer.  Without a cgroup filesystem (a container, a chroot) it does not fail:
# slurmd then runs with cgroups switched off as well (cgroup.conf, written and
# removed like slurm.conf).
set -euo pipefail

STATE=${MONTEPI_SLURM_STATE:-/run/montepi-slurm.state}
CONF=/etc/slurm/slurm.conf
CGROUP_CONF=/etc/slurm/cgroup.conf
MARK="# montepi: throwaway single-node Slurm"
WAIT_S=${MONTEPI_SLURM_WAIT:-60}
here=$(dirname "$(readlink -f "$0")")

say() { printf 'slurm-up: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it starts system daemons); try: sudo ./lesson slurm-up"

alive() { [ -n "${1:-}" ] && [ -d "/proc/$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }

# The causes that slurm-up recognises, each said as one line with its fix.
port_user() {  # port_user PORT: "pid PID (NAME)" of what listens on TCP PORT, "another program" if unknown, "" if free
    local hex inode fd pid
    hex=$(printf '%04X' "$1")
    inode=$(awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10; exit }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null || true)
    [ -n "$inode" ] || return 0
    for fd in /proc/[0-9]*/fd/*; do
        if [ "$(readlink "$fd" 2>/dev/null)" = "socket:[$inode]" ]; then
            pid=${fd#/proc/}
            pid=${pid%%/*}
            echo "pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null))"
            return 0
        fi
    done
    echo "another program"
}
first_error() {  # first_error PATTERN FILE...: the first log line matching PATTERN, less its prefix
    grep -hs -m1 -e "$1" "${@:2}" | head -n1 | sed -E 's/^(\[[^]]*\] )?([a-z]+: )?(error: )?//'
}
cause_in_logs() {  # cause_in_logs DIR: the known cause that the daemons' logs show, as one line, or nothing
    local dir=$1 line
    if line=$(first_error 'No filesystem mounted on /sys/fs/cgroup' "$dir"/slurmd.out) && [ -n "$line" ]; then
        echo "slurmd cannot start without cgroups here ($line); slurm-up runs it without cgroups where" \
            "/sys/fs/cgroup has no cgroup filesystem, so please report this"
    elif line=$(first_error 'Address already in use' "$dir"/slurmctld.out "$dir"/slurmd.out) && [ -n "$line" ]; then
        echo "a port Slurm needs is already in use ($line); stop what listens there (ss -ltnp) and run this again"
    elif line=$(first_error 'Munge .*failed\|munge.socket\|auth/munge' "$dir"/slurmctld.out "$dir"/slurmd.out) \
            && [ -n "$line" ]; then
        echo "munge is not answering, so Slurm's daemons cannot trust each other ($line); check that munged" \
            "runs (munge -n | unmunge) and run this again"
    fi
}
node_state() { timeout 5 sinfo -h -n localhost -o %t 2>/dev/null | head -n1 || true; }

# Already up?  Then there is nothing to do; a half-dead one is cleaned up first.
if [ -f "$STATE" ]; then
    # shellcheck disable=SC1090
    . "$STATE"
    if alive "${SLURMCTLD_PID:-}" slurmctld && alive "${SLURMD_PID:-}" slurmd \
        && [[ "$(node_state)" =~ ^(idle|mix|alloc) ]]; then
        say "already running (state in $STATE, logs in $DIR)"
        sinfo
        exit 0
    fi
    say "found a stale $STATE; cleaning up first"
    bash "$here/slurm-down.sh"
fi

# Install only what is missing.
missing=()
for pair in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v "${pair%%:*}" >/dev/null 2>&1 \
        || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "please install ${missing[*]} (Debian's packages) first"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=120 install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        apt-get -o DPkg::Lock::Timeout=120 update -q >/dev/null
        apt-get -o DPkg::Lock::Timeout=120 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    }
fi
export PATH=$PATH:/usr/sbin:/sbin

# A daemon the packages may have started (systemd) would hold the ports.
for daemon in slurmctld slurmd; do
    if pgrep -x "$daemon" >/dev/null; then
        die "a $daemon is already running (pid $(pgrep -x "$daemon" | tr '\n' ' ')); stop it first (systemctl stop $daemon)"
    fi
done

# Ports: slurmctld listens on 6817, slurmd on 6818 (Slurm's defaults).
for pair in 6817:slurmctld 6818:slurmd; do
    user=$(port_user "${pair%%:*}")
    [ -z "$user" ] || die "port ${pair%%:*}, which ${pair#*:} needs, is already in use by $user; stop it and run this again"
done

# shellcheck source=scripts/slurm-cgroups.sh
. "$here/slurm-cgroups.sh"
CGROUP_PLUGIN=$(slurm_cgroup_plugin)
if [ -n "$CGROUP_PLUGIN" ]; then
    say "no cgroup filesystem on /sys/fs/cgroup (a container or chroot?): running Slurm without cgroups" \
        "(proctrack/linuxproc, task/none, CgroupPlugin=$CGROUP_PLUGIN)"
fi

DIR=$(mktemp -d /tmp/montepi-slurm.XXXXXX)
chmod 755 "$DIR"
mkdir -p "$DIR/state" "$DIR/spool"
# The cores this machine lets us use; not nproc's answer alone, which OMP_NUM_THREADS caps, and a
# dask nanny sets OMP_NUM_THREADS=1 in its own process (a LocalCluster's: a notebook, a test run).
cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 * 0.8 / 1024 }' /proc/meminfo)
def_mem=$(( mem_mb / cpus < 1024 ? mem_mb / cpus : 1024 ))

# Keep a configuration that is not ours.
mkdir -p /etc/slurm
keep() {  # keep FILE: an existing FILE that is not ours goes aside as FILE.montepi-backup
    if [ -f "$1" ] && ! grep -qF "$MARK" "$1"; then
        cp -p "$1" "$1.montepi-backup"
        say "kept the existing $1 as $1.montepi-backup (slurm-down puts it back)"
    fi
}
keep "$CONF"
if [ -n "$CGROUP_PLUGIN" ]; then
    keep "$CGROUP_CONF"
    printf '%s (scripts/slurm-up.sh): no cgroup filesystem here.\n# slurm-down.sh removes this file again.\nCgroupPlugin=%s\n' \
        "$MARK" "$CGROUP_PLUGIN" > "$CGROUP_CONF"
    chmod 644 "$CGROUP_CONF"
fi
cat > "$CONF" <<EOF
$MARK (scripts/slurm-up.sh).
# slurm-down.sh removes this file again.  State and logs: $DIR
ClusterName=montepi
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$def_mem
ReturnToService=2
# Use the node as described here, whatever slurmd detects (containers, VMs).
SlurmdParameters=config_overrides
# Quick turnaround for a lesson: short grace before SIGKILL, finished jobs forgotten soon.
KillWait=5
MinJobAge=60
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
chmod 644 "$CONF"

# munge authenticates every Slurm message.  Reuse a munged that already answers.
MUNGED_PID=
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge /etc/munge
    if [ ! -s /etc/munge/munge.key ]; then
        say "creating a munge key"
        mungekey --create --keyfile /etc/munge/munge.key 2>/dev/null \
            || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    fi
    setsid setpriv --reuid munge --regid munge --init-groups /usr/sbin/munged --foreground \
        </dev/null >"$DIR/munged.log" 2>&1 &
    MUNGED_PID=$!
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        say "munge, which authenticates every Slurm message, did not start: $(first_error 'Error' "$DIR/munged.log" \
            || true)"
        { printf '\n==> %s <==\n' "$DIR/munged.log"; tail -n 20 "$DIR/munged.log"; } >&2
        # slurm-down ends munged and puts the configuration back.
        cat > "$STATE" <<EOF
DIR=$DIR
MUNGED_PID=$MUNGED_PID
EOF
        bash "$here/slurm-down.sh" >/dev/null 2>&1 || true
        exit 1
    fi
fi

write_state() {
    cat > "$STATE" <<EOF
DIR=$DIR
MUNGED_PID=$MUNGED_PID
SLURMCTLD_PID=${SLURMCTLD_PID:-}
SLURMD_PID=${SLURMD_PID:-}
EOF
}
write_state

# -D: stay in the foreground, so $! is the daemon itself; setsid: Ctrl-C in this shell leaves it alone.
setsid slurmctld -D -i </dev/null >"$DIR/slurmctld.out" 2>&1 &
SLURMCTLD_PID=$!
write_state
setsid slurmd -D -N localhost </dev/null >"$DIR/slurmd.out" 2>&1 &
SLURMD_PID=$!
write_state

deadline=$((SECONDS + WAIT_S))
state=
while [ $SECONDS -lt $deadline ]; do
    state=$(node_state)
    [[ "$state" =~ ^(idle|mix|alloc) ]] && break
    if ! alive "$SLURMCTLD_PID" slurmctld || ! alive "$SLURMD_PID" slurmd; then
        break
    fi
    sleep 0.5
done
if ! [[ "$state" =~ ^(idle|mix|alloc) ]]; then
    # The cause first, in one line; the logs after it (a first start also logs harmless errors:
    # PMIx not found, no saved state yet).
    cause=$(cause_in_logs "$DIR")
    [ -z "$cause" ] || say "$cause"
    say "the node did not become idle within ${WAIT_S} s (state: ${state:-none}); the logs:"
    for log in munged.log slurmctld.out slurmctld.log slurmd.out slurmd.log; do
        [ -s "$DIR/$log" ] && { printf '\n==> %s <==\n' "$DIR/$log" >&2; tail -n 40 "$DIR/$log" >&2; }
    done
    bash "$here/slurm-down.sh" || true
    exit 1
fi
say "Slurm is up: node localhost with $cpus CPUs and $mem_mb MB, partition debug (state and logs in $DIR)"
sinfo
