# Shared by scripts/slurm-up.sh and scripts/cluster-up.sh (sourced, not run): whether Slurm must be
# told to run without cgroups, and how.

slurm_cgroup_plugin() {  # slurm_cgroup_plugin [MOUNTS]: "" where a cgroup filesystem is mounted, else the CgroupPlugin
    # MOUNTS: /proc/mounts by default; /proc/PID/mounts for the mount namespace that PID is in.
    # Without a cgroup filesystem (v2, or v1 controllers, on /sys/fs/cgroup) slurmd refuses to start
    # even with proctrack/linuxproc and task/none ("No filesystem mounted on /sys/fs/cgroup"): then
    # cgroups are switched off in cgroup.conf too.  "disabled" exists from Slurm 23.02; before that the
    # cgroup/v1 plugin starts without a mount, and with linuxproc and task/none nothing asks it for anything.
    local version
    if awk '$2 == "/sys/fs/cgroup" && $3 == "cgroup2" { found = 1 }
            index($2, "/sys/fs/cgroup/") == 1 && $3 == "cgroup" { found = 1 }
            END { exit !found }' "${1:-/proc/mounts}"; then
        return 0
    fi
    version=$(slurmd -V 2>/dev/null | awk '{print $2}')
    if [ "$(printf '%s\n' 23.02 "$version" | sort -V | head -n1)" = 23.02 ]; then
        echo disabled
    else
        echo cgroup/v1
    fi
}
