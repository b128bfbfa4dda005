#!/usr/bin/env bash
# Start a throwaway Slurm cluster of three hosts made of Linux namespaces on this machine:
# "login" (slurmctld, munged) and "compute1", "compute2" (one slurmd each), for rehearsing and
# testing what only breaks across hosts (which address a scheduler binds, a node that disappears).
#
#   sudo ./lesson cluster-up        (or: bash scripts/cluster-up.sh)
#   ./lesson cluster-on login sinfo (a command on a host; no command: a shell there)
#   sudo ./lesson cluster-down
#
# Debian only, as root (ip, unshare, nsenter; Debian's slurmctld, slurmd, slurm-client, munge).
# Each host is a network namespace with a UTS namespace (its own hostname) and a mount namespace
# (its own /etc/hosts); the hosts share this machine's files, as cluster nodes share a home
# folder.  Their addresses (10.254.26.10-12/24) live only on a bridge in a namespace of its own:
# no default route, no NAT, nothing reaches off the machine, and this machine's own network is
# not changed (see scripts/cluster-lib.sh).
#
# Slurm here has its own ports (6917/6918), configuration (SLURM_CONF=DIR/etc/slurm.conf), munge
# key and socket, state, spool, pid and log files, all in DIR=/tmp/montepi-cluster.XXXXXX: a
# single-host Slurm from `./lesson slurm-up` (/etc/slurm, /tmp/montepi-slurm.*) is neither read
# nor touched.  proctrack/linuxproc and task/none; the hosts see no cgroup filesystem (ip netns
# mounts a fresh /sys), so cgroups are switched off in cgroup.conf as slurm-up does there.
#
# Everything made is recorded in $CLUSTER_STATE (/run/montepi-cluster.state) from the first step
# on, so that cluster-down removes it all, also after a cluster-up that failed half-way (which
# runs cluster-down itself).  Running cluster-up twice is harmless.  Exit status 1 on failure,
# with the cause in one line first.
set -euo pipefail

here=$(dirname "$(readlink -f "$0")")
# shellcheck source=scripts/cluster-lib.sh
. "$here/cluster-lib.sh"
WAIT_S=${MONTEPI_CLUSTER_WAIT:-90}
MARK="# montepi: throwaway several-hosts Slurm (scripts/cluster-up.sh)"

say() { printf 'cluster-up: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it makes network namespaces and starts daemons); try: sudo ./lesson cluster-up"
missing=()
for pair in ip:iproute2 unshare:util-linux nsenter:util-linux slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client \
            munged:munge; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] || die "missing: $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')(apt-get install them)"

# A container may forbid namespaces (no CAP_SYS_ADMIN or CAP_NET_ADMIN): say so before making anything.
if ! why=$(unshare --net --uts --mount true 2>&1); then
    die "cannot make network namespaces here (${why:-unshare failed}); a container needs --privileged or" \
        "CAP_SYS_ADMIN and CAP_NET_ADMIN for this cluster"
fi

nodes_state() {  # "compute1 idle compute2 idle" as sinfo says, or nothing
    cluster_on login timeout 5 sinfo -h -N -o '%N %t' 2>/dev/null | sort | tr '\n' ' ' || true
}
all_idle() { [[ "$1" =~ ^compute1\ (idle|mix|alloc)\ compute2\ (idle|mix|alloc)\ $ ]]; }

# Already up?  Then nothing to do; anything half-made (a stale state file, namespaces of ours
# without one) is removed first.
if cluster_load_state 2>/dev/null; then
    if alive "${SLURMCTLD_PID:-}" slurmctld && alive "${SLURMD_compute1:-}" slurmd && alive "${SLURMD_compute2:-}" slurmd \
        && all_idle "$(nodes_state)"; then
        say "already up (state in $CLUSTER_STATE, files in $DIR)"
        exit 0
    fi
    say "found a half-made cluster ($CLUSTER_STATE); removing it first"
    bash "$here/cluster-down.sh"
elif ip netns list 2>/dev/null | grep -qE '^montepi-(switch|login|compute1|compute2)( |$)'; then
    say "found namespaces of an earlier cluster without its state file; removing them first"
    bash "$here/cluster-down.sh"
fi
DIR= HOLDER_login= HOLDER_compute1= HOLDER_compute2= MUNGED_PID= SLURMCTLD_PID= SLURMD_compute1= SLURMD_compute2=

write_state() {
    cat > "$CLUSTER_STATE" <<EOF
DIR=$DIR
HOLDER_login=$HOLDER_login
HOLDER_compute1=$HOLDER_compute1
HOLDER_compute2=$HOLDER_compute2
MUNGED_PID=$MUNGED_PID
SLURMCTLD_PID=$SLURMCTLD_PID
SLURMD_compute1=$SLURMD_compute1
SLURMD_compute2=$SLURMD_compute2
EOF
}

DIR=$(mktemp -d /tmp/montepi-cluster.XXXXXX)
chmod 755 "$DIR"
write_state

# From here on, a failure shows the logs and removes everything made so far.
failed() {
    local status=$?
    [ "$status" -ne 0 ] || return 0
    for log in "$DIR"/log/*; do
        [ -s "$log" ] && { printf '\n==> %s <==\n' "$log" >&2; tail -n 30 "$log" >&2; }
    done
    say "removing what was made (cluster-down)"
    bash "$here/cluster-down.sh" >/dev/null 2>&1 || true
    exit "$status"
}
trap failed EXIT
trap 'exit 130' INT   # Ctrl-C or a kill also removes what was made (through the EXIT trap)
trap 'exit 143' TERM
trap 'exit 129' HUP

mkdir -p "$DIR/etc" "$DIR/log" "$DIR/state" "$DIR/spool" "$DIR/munge"

# --- The network: a bridge in a namespace of its own, one veth pair per host ---------------------
ip netns add "$CLUSTER_SWITCH"
ip -n "$CLUSTER_SWITCH" link add br0 type bridge
ip -n "$CLUSTER_SWITCH" link set br0 up
{
    echo "$MARK"
    echo "127.0.0.1 localhost"
    for host in $CLUSTER_HOSTS; do echo "$(cluster_address "$host") $host"; done
} > "$DIR/etc/hosts"
chmod 644 "$DIR/etc/hosts"
for host in $CLUSTER_HOSTS; do
    ns=$(cluster_netns "$host")
    ip netns add "$ns"
    # The host's end is eth0 in its namespace; the switch's end is named after the host.
    ip -n "$ns" link add eth0 type veth peer name "$host" netns "$CLUSTER_SWITCH"
    ip -n "$CLUSTER_SWITCH" link set "$host" master br0 up
    ip -n "$ns" addr add "$(cluster_address "$host")/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    # The host's hostname and /etc/hosts, held by a process that sleeps until cluster-down.
    setsid ip netns exec "$ns" unshare --uts --mount --propagation private -- \
        sh -c 'hostname "$1" && mount --bind "$2" /etc/hosts && exec sleep infinity' sh "$host" "$DIR/etc/hosts" \
        </dev/null >"$DIR/log/holder-$host.log" 2>&1 &
    printf -v "HOLDER_$host" %s "$!"
    disown  # cluster-down ends it; this shell need not report how
    write_state
done
for host in $CLUSTER_HOSTS; do
    holder=$(cluster_holder "$host")
    for _ in $(seq 100); do
        alive "$holder" sleep && break
        [ -d "/proc/$holder" ] || die "host $host did not come up: $(cat "$DIR/log/holder-$host.log")"
        sleep 0.05
    done
    [ "$(cluster_on "$host" hostname)" = "$host" ] || die "host $host did not get its own hostname"
done

# --- munge: one key, one munged (on login) with its own socket -----------------------------------
chown munge:munge "$DIR/munge"
dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 status=none
chown munge:munge "$DIR/munge/munge.key"
chmod 0400 "$DIR/munge/munge.key"
SOCKET=$DIR/munge/munge.socket
SLURM_CONF=$DIR/etc/slurm.conf
setsid nsenter --target "$HOLDER_login" --net --uts --mount -- \
    setpriv --reuid munge --regid munge --init-groups munged --foreground --socket="$SOCKET" \
    --key-file="$DIR/munge/munge.key" --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
    --seed-file="$DIR/munge/munged.seed" </dev/null >"$DIR/log/munged.out" 2>&1 &
MUNGED_PID=$!
disown
write_state
for _ in $(seq 100); do
    munge --socket="$SOCKET" -n 2>/dev/null | unmunge --socket="$SOCKET" >/dev/null 2>&1 && break
    [ -d "/proc/$MUNGED_PID" ] || break  # (alive would be wrong while setsid, nsenter, setpriv exec it)
    sleep 0.1
done
munge --socket="$SOCKET" -n 2>/dev/null | unmunge --socket="$SOCKET" >/dev/null 2>&1 \
    || die "munge, which authenticates every Slurm message, did not start: $(grep -hs -m1 -i error \
        "$DIR/log/munged.out" "$DIR/munge/munged.log" | head -n1)"

# --- Slurm ----------------------------------------------------------------------------------------
# The hosts see the /sys that ip netns mounts for them, without cgroups: as scripts/slurm-up.sh does
# where there is no cgroup filesystem, cgroups are switched off ("disabled" from Slurm 23.02; before
# that cgroup/v1 starts without a mount, and linuxproc and task/none ask it for nothing).
# shellcheck source=scripts/slurm-cgroups.sh
. "$here/slurm-cgroups.sh"
CGROUP_PLUGIN=$(slurm_cgroup_plugin "/proc/$HOLDER_compute1/mounts")  # what a compute host sees
if [ -n "$CGROUP_PLUGIN" ]; then
    printf '%s\nCgroupPlugin=%s\n' "$MARK" "$CGROUP_PLUGIN" > "$DIR/etc/cgroup.conf"
fi
# The cores this machine lets us use; not nproc's answer alone, which OMP_NUM_THREADS caps, and a
# dask nanny sets OMP_NUM_THREADS=1 in its own process (a LocalCluster's: a notebook, a test run).
cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 * 0.4 / 1024 }' /proc/meminfo)  # each node: 40% of the machine
def_mem=$(( mem_mb / cpus < 1024 ? mem_mb / cpus : 1024 ))
cat > "$SLURM_CONF" <<EOF
$MARK
# Files: $DIR; cluster-down removes them.
ClusterName=montepi-hosts
SlurmctldHost=login($(cluster_address login))
SlurmctldPort=$CLUSTER_CTLD_PORT
SlurmdPort=$CLUSTER_SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
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
SlurmdParameters=config_overrides
KillWait=5
MinJobAge=60
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=compute1 NodeAddr=$(cluster_address compute1) CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem_mb State=UNKNOWN
NodeName=compute2 NodeAddr=$(cluster_address compute2) CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=compute1,compute2 Default=YES MaxTime=INFINITE State=UP LLN=YES
EOF
chmod 644 "$SLURM_CONF" "$DIR/etc"/*
mkdir -p "$DIR/spool/compute1" "$DIR/spool/compute2"
chmod 755 "$DIR/spool"/*
export SLURM_CONF

# -D: in the foreground, so $! is the daemon itself (setsid and nsenter exec it).
setsid nsenter --target "$HOLDER_login" --net --uts --mount -- slurmctld -D -i -f "$SLURM_CONF" \
    </dev/null >"$DIR/log/slurmctld.out" 2>&1 &
SLURMCTLD_PID=$!
disown
write_state
for node in compute1 compute2; do
    holder=$(cluster_holder "$node")
    setsid nsenter --target "$holder" --net --uts --mount -- slurmd -D -N "$node" -f "$SLURM_CONF" \
        </dev/null >"$DIR/log/slurmd-$node.out" 2>&1 &
    printf -v "SLURMD_$node" %s "$!"
    disown
    write_state
done

deadline=$((SECONDS + WAIT_S))
state=
while [ $SECONDS -lt $deadline ]; do
    state=$(nodes_state)
    all_idle "$state" && break
    [ -d "/proc/$SLURMCTLD_PID" ] && [ -d "/proc/$SLURMD_compute1" ] && [ -d "/proc/$SLURMD_compute2" ] || break
    sleep 0.5
done
all_idle "$state" || die "the compute nodes did not become idle within ${WAIT_S} s (sinfo: ${state:-no answer}); the logs follow"
trap - EXIT INT TERM HUP
say "up in ${SECONDS} s: login $(cluster_address login) (slurmctld :$CLUSTER_CTLD_PORT), compute1 $(cluster_address compute1)" \
    "and compute2 $(cluster_address compute2) (slurmd :$CLUSTER_SLURMD_PORT, $cpus CPUs, $mem_mb MB each); files in $DIR"
say "try: ./lesson cluster-on login sinfo"
