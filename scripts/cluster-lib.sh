# Shared by scripts/cluster-up.sh, cluster-down.sh and cluster-on.sh (sourced, not run): the
# several-hosts cluster's names and addresses, its state file, and how to run a command on a host.
#
# The cluster is made of Linux namespaces on this one machine.  Each host ("login", "compute1",
# "compute2") is a network namespace montepi-HOST with one interface, eth0, plus a UTS namespace
# (its own hostname) and a mount namespace (its own /etc/hosts), held open by one `sleep` process
# per host.  The hosts' eth0s are veth pairs whose other ends are ports of a bridge in a fourth
# network namespace, montepi-switch, which has no other interface: no uplink, no default route, no
# NAT, so the addresses below exist only between these namespaces.  This machine's own network
# namespace gets nothing at all.

CLUSTER_STATE=${MONTEPI_CLUSTER_STATE:-/run/montepi-cluster.state}
CLUSTER_SUBNET=10.254.26                 # /24, on the bridge only
CLUSTER_HOSTS="login compute1 compute2"
CLUSTER_SWITCH=montepi-switch
CLUSTER_CTLD_PORT=6917                   # not Slurm's defaults (6817/6818), which a single-host Slurm uses
CLUSTER_SLURMD_PORT=6918
export PATH=$PATH:/usr/sbin:/sbin

cluster_netns() { echo "montepi-$1"; }

cluster_address() {  # cluster_address HOST: its address on the bridge
    case $1 in
        login) echo "$CLUSTER_SUBNET.10" ;;
        compute1) echo "$CLUSTER_SUBNET.11" ;;
        compute2) echo "$CLUSTER_SUBNET.12" ;;
        *) return 1 ;;
    esac
}

alive() { [ -n "${1:-}" ] && [ -d "/proc/$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }

cluster_load_state() {  # sets DIR and HOLDER_<host>, *_PID from the state file; fails without one
    [ -f "$CLUSTER_STATE" ] || return 1
    # shellcheck disable=SC1090
    . "$CLUSTER_STATE"
}

cluster_holder() {  # cluster_holder HOST: the pid of the process that holds HOST's namespaces
    local var=HOLDER_$1
    echo "${!var:-}"
}

cluster_nsenter() {  # cluster_nsenter HOST: the nsenter command line that runs a command on HOST
    local holder
    holder=$(cluster_holder "$1")
    alive "$holder" sleep || { printf 'cluster: host %s is not up (no holder process)\n' "$1" >&2; return 1; }
    echo "nsenter --target $holder --net --uts --mount --"
}

cluster_on() {  # cluster_on HOST COMMAND...: run COMMAND on HOST (its network, hostname and /etc/hosts)
    local enter
    enter=$(cluster_nsenter "$1") || return 1
    shift
    # shellcheck disable=SC2086  # a fixed command line without spaces in its words
    SLURM_CONF=$DIR/etc/slurm.conf $enter "$@"
}
