#!/usr/bin/env bash
# A throwaway minimal Debian root, for CI's Debian 13 stage and for the test that plays a
# learner without root.  Root only (debootstrap, chroot, mount).
#
#   scripts/minimal-root.sh create DIR SUITE [PACKAGE,...]
#       debootstrap --variant=minbase SUITE into DIR (plus the packages named), then copy in
#       this machine's apt, pip and CA-certificate settings so that DIR reaches the same
#       package sources.
#   scripts/minimal-root.sh run DIR [--user NAME] COMMAND...
#       mount /proc, /sys, /dev, /dev/pts, a private /dev/shm and the local package folders
#       pip's settings name (read-only), run COMMAND inside (as NAME if given, with a clean
#       environment plus CI, MONTEPI_* and PIP_* variables), then end whatever COMMAND left
#       running in DIR and unmount everything again, also on failure.  Exit status: COMMAND's.
#   scripts/minimal-root.sh remove DIR
#       unmount anything still mounted under DIR and delete it.
set -euo pipefail

say() { printf 'minimal-root: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount)"

# The Debian mirror this machine's apt uses (deb822 or one-line sources), else deb.debian.org.
host_mirror() {
    local uri
    uri=$(grep -hE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
        | grep -v -- '-security' | head -n1 || true)
    [ -n "$uri" ] || uri=$(grep -hE '^\s*deb\s' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' \
        | grep -v -- '-security' | head -n1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

# Local folders that pip takes packages from (find-links, file:// indexes): they are bind-mounted
# read-only at the same path inside, so pip there sees what pip here sees.  (Other settings, such
# as a constraints file or a CA bundle, are copied or come with the root's own packages.)
pip_local_folders() {
    local key value path
    {
        python3 -m pip config list 2>/dev/null | grep -E '^[^=]*(find-links|index-url)=' | sed -E "s/^[^=]+=//; s/^'//; s/'$//"
        echo "${PIP_FIND_LINKS:-} ${PIP_INDEX_URL:-} ${PIP_EXTRA_INDEX_URL:-}"
    } | tr ' ' '\n' | while read -r value; do
        path=${value#file://}
        [ "${path:0:1}" = / ] || continue
        # An index's .../simple links to files beside it: share the folder above.
        [ "$(basename "$path")" = simple ] && path=$(dirname "$path")
        [ -d "$path" ] && echo "$path"
    done | sort -u
}

copy_settings() {
    local dir=$1 suite=$2 mirror=$3 f
    # apt: the same mirror for the new suite, and this machine's extra apt settings (proxies, …).
    rm -f "$dir/etc/apt/sources.list"
    cat > "$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    for f in /etc/apt/apt.conf.d/*; do
        [ -e "$dir/etc/apt/apt.conf.d/$(basename "$f")" ] || cp "$f" "$dir/etc/apt/apt.conf.d/"
    done
    # pip: system-wide, XDG and this user's own settings, each where pip looks for it (the
    # commands inside run as root, or as a user whose settings are these too).
    [ -f /etc/pip.conf ] && cp /etc/pip.conf "$dir/etc/pip.conf"
    [ -d /etc/xdg/pip ] && mkdir -p "$dir/etc/xdg" && cp -r /etc/xdg/pip "$dir/etc/xdg/"
    [ -f "$HOME/.config/pip/pip.conf" ] && mkdir -p "$dir/root/.config/pip" && cp "$HOME/.config/pip/pip.conf" "$dir/root/.config/pip/"
    [ -f "$HOME/.pip/pip.conf" ] && mkdir -p "$dir/root/.pip" && cp "$HOME/.pip/pip.conf" "$dir/root/.pip/"
    # Certificates this machine trusts beyond Debian's (a proxy's CA, …).
    if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
        mkdir -p "$dir/usr/local/share/ca-certificates"
        cp -r /usr/local/share/ca-certificates/. "$dir/usr/local/share/ca-certificates/"
        chroot "$dir" update-ca-certificates >/dev/null 2>&1 || say "update-ca-certificates failed inside $dir"
    fi
    cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
    cp /etc/hosts "$dir/etc/hosts"
}

create() {
    local dir=$1 suite=$2 packages=${3:-} mirror
    mirror=$(host_mirror)
    [ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] || die "$dir exists and is not empty"
    say "debootstrap --variant=minbase $suite from $mirror${packages:+ with $packages}"
    debootstrap --variant=minbase ${packages:+--include="$packages"} "$suite" "$dir" "$mirror" >"$dir.debootstrap.log" 2>&1 \
        || { tail -n 20 "$dir.debootstrap.log" >&2; die "debootstrap failed (log: $dir.debootstrap.log)"; }
    rm -f "$dir.debootstrap.log"
    copy_settings "$dir" "$suite" "$mirror"
}

mounted_under() {  # mount points under DIR, deepest first
    awk -v d="$(readlink -f "$1")" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/mounts | sort -r
}

describe() {  # describe PID: its command line, and what names it when it has none (a process that is exiting)
    local pid=$1 line state parent
    line=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-150)
    [ -n "$line" ] && { echo "$line"; return 0; }
    # No command line: the process is exiting (its memory is gone, its root not yet).  Name it by its
    # name, its state and its parent, so that a log says which test left it.
    state=$(awk '/^State:/ {print $2 " " $3}' "/proc/$pid/status" 2>/dev/null)
    parent=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    echo "[$(cat "/proc/$pid/comm" 2>/dev/null), no command line, state ${state:-?}; parent ${parent:-?}:" \
        "$(tr '\0' ' ' < "/proc/${parent:-0}/cmdline" 2>/dev/null | cut -c1-120)]"
}

end_processes_in() {  # end the processes whose root is DIR, by their ids (TERM, then KILL)
    local dir pid pids sig
    dir=$(readlink -f "$1")
    for sig in TERM KILL; do
        pids=""
        for pid in /proc/[0-9]*; do
            [ "$(readlink "$pid/root" 2>/dev/null)" = "$dir" ] && pids="$pids ${pid#/proc/}"
        done
        [ -z "$pids" ] && return 0
        say "ending processes left in $dir ($sig):"
        for pid in $pids; do say "  $pid $(describe "${pid}")"; done
        # shellcheck disable=SC2086
        kill -"$sig" $pids 2>/dev/null || true
        sleep 3
    done
}

unmount_all() {
    local dir=$1 point
    end_processes_in "$dir"
    for point in $(mounted_under "$dir"); do
        umount "$point" 2>/dev/null || umount -l "$point" || say "could not unmount $point"
    done
}

run() {
    local dir user="" status=0 folder
    dir=$(readlink -f "$1")
    shift
    if [ "${1:-}" = --user ]; then user=$2; shift 2; fi
    [ -x "$dir/bin/sh" ] || die "$dir is not a root made by 'create'"
    trap 'unmount_all "'"$dir"'"' EXIT
    mount -t proc proc "$dir/proc"
    mount -t sysfs sysfs "$dir/sys"
    mount --bind /dev "$dir/dev"
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$dir/dev/pts" 2>/dev/null || mount --bind /dev/pts "$dir/dev/pts"
    # A /dev/shm of its own: semaphores left inside cannot be confused with this machine's.
    mount -t tmpfs -o mode=1777 shm "$dir/dev/shm"
    for folder in $(pip_local_folders); do
        mkdir -p "$dir$folder"
        mount --bind "$folder" "$dir$folder"
        mount -o remount,bind,ro "$dir$folder" 2>/dev/null || true
    done
    local env=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb)
    local spec=()
    if [ -n "$user" ]; then
        env=(HOME="/home/$user" USER="$user" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TERM=dumb)
        # Numeric ids: the name is one that exists inside DIR, not necessarily here.
        spec=(--userspec="$(awk -F: -v u="$user" '$1 == u {print $3 ":" $4}' "$dir/etc/passwd")")
        [ "${spec[0]}" != --userspec= ] || die "no user $user in $dir"
    fi
    local name
    while IFS='=' read -r name _; do
        case $name in CI|MONTEPI_*|PIP_*) env+=("$name=${!name}") ;; esac
    done < <(env)
    chroot ${spec[@]+"${spec[@]}"} "$dir" /usr/bin/env -i "${env[@]}" "$@" || status=$?
    return "$status"
}

remove() {
    local dir
    dir=$(readlink -f "$1")
    [ -d "$dir" ] || return 0
    unmount_all "$dir"
    [ -z "$(mounted_under "$dir")" ] || die "something is still mounted under $dir; not deleting it"
    rm -rf --one-file-system "$dir"
}

cmd=${1:-}
shift || true
case $cmd in
    create) [ $# -ge 2 ] || die "usage: create DIR SUITE [PACKAGE,...]"; create "$@" ;;
    run) [ $# -ge 2 ] || die "usage: run DIR [--user NAME] COMMAND..."; run "$@" ;;
    remove) [ $# -eq 1 ] || die "usage: remove DIR"; remove "$1" ;;
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
