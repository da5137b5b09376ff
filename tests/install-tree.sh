#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `make install` into a temporary DESTDIR with PREFIX=/usr, as a package build does: the release binaries (static
# Swift runtime, built for /usr's directories; the first run builds them, later runs and the installed-system rig
# reuse the build), stripped. Checks the tree, runs the installed programs where the Swift toolchain cannot be
# reached, checks the unit's sandbox score, then `make uninstall` and that nothing of ours is left.
set -eu
cd "$(dirname "$0")/.."
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
failures=0
fail() { echo "install-tree: FAIL: $*" >&2; failures=$((failures + 1)); }

if ! make install DESTDIR="$root" PREFIX=/usr >"$root.log" 2>&1; then
    cat "$root.log" >&2; rm -f "$root.log"
    echo "install-tree: make install DESTDIR=… PREFIX=/usr failed" >&2
    exit 1
fi
rm -f "$root.log"
# The directories, as the Makefile computes them (pkg-config's answers, or its fallbacks).
eval "$(make -s install-dirs PREFIX=/usr)"

# What goes where, with the mode it must have.
expect() { # mode path
    [ -f "$root$2" ] || { fail "missing $2"; return; }
    mode=$(stat -c %a "$root$2")
    [ "$mode" = "$1" ] || fail "$2 has mode $mode, expected $1"
    [ -s "$root$2" ] || fail "$2 is empty"
}
[ "$LIBEXECDIR/$PROFILEDIR/$CONFIGDIR/$DBUSINTERFACEDIR/$POLKITACTIONDIR" = \
  /usr/libexec//usr/share/devsync/fdi-profiles//etc/devsync//usr/share/dbus-1/interfaces//usr/share/polkit-1/actions ] \
    || fail "make install-dirs PREFIX=/usr: unexpected directories"
expect 755 "$LIBEXECDIR/devsyncd"
expect 755 "$BINDIR/devsyncctl"
expect 755 "$BINDIR/devsync-agent"
expect 644 "$SYSTEMDUSERUNITDIR/devsync-agent.service"
expect 644 "$XDGAUTOSTARTDIR/devsync-agent.desktop"
expect 644 "$MANDIR/man1/devsync-agent.1"
[ "$(readlink "$root$SYSTEMDUSERUNITDIR/graphical-session.target.wants/devsync-agent.service")" = ../devsync-agent.service ] \
    || fail "devsync-agent.service is not wanted by graphical-session.target"
expect 755 "$BINDIR/devsync-engine"
expect 644 "$SYSTEMDUSERUNITDIR/devsync-engine.service"
expect 644 "$DATADIR/devsync/engine.conf.example"
expect 644 "$MANDIR/man1/devsync-engine.1"
expect 644 "$UDEVRULESDIR/70-devsync.rules"
expect 644 "$SYSTEMDUNITDIR/devsyncd.service"
expect 644 "$SYSTEMDCATALOGDIR/devsyncd.catalog"
expect 644 "$DBUSPOLICYDIR/org.devsync.Broker1.conf"
expect 644 "$DBUSSERVICEDIR/org.devsync.Broker1.service"
expect 644 "$DBUSINTERFACEDIR/org.devsync.Broker1.xml"
expect 644 "$POLKITACTIONDIR/org.devsync.policy"
expect 644 "$CONFIGDIR/devsyncd.conf"
expect 644 "$MANDIR/man1/devsyncctl.1"
expect 644 "$MANDIR/man8/devsyncd.8"
expect 644 "$BASHCOMPLETIONDIR/devsyncctl"
expect 644 "$ZSHCOMPLETIONDIR/_devsyncctl"
expect 644 "$FISHCOMPLETIONDIR/devsyncctl.fish"
for profile in fdi-profiles/*.fdi; do
    expect 644 "$PROFILEDIR/$(basename "$profile")"
done
cmp -s data/org.devsync.Broker1.xml "$root$DBUSINTERFACEDIR/org.devsync.Broker1.xml" || fail "the installed interface XML differs"

# The installed profiles load without an error and are the ones the installed rules were generated from.
"$root$BINDIR/devsyncctl" profiles check --profiles "$root$PROFILEDIR" >/dev/null \
    || fail "the installed profiles do not check clean"
"$root$BINDIR/devsyncctl" profiles export-udev --profiles "$root$PROFILEDIR" \
    | cmp -s - "$root$UDEVRULESDIR/70-devsync.rules" || fail "70-devsync.rules does not match the profiles"

# The binaries are stripped, and self-contained: no RUNPATH, nothing from the Swift toolchain (its runtime,
# Foundation, ICU), and devsyncctl needs no library the daemon does not.
toolchain=$(dirname "$(dirname "$(command -v swift)")")
for binary in "$LIBEXECDIR/devsyncd" "$BINDIR/devsyncctl" "$BINDIR/devsync-agent" "$BINDIR/devsync-engine"; do
    sections=$(readelf -S -W "$root$binary")
    echo "$sections" | grep -q -e ' \.symtab ' -e ' \.debug_' && fail "$binary is not stripped"
    readelf -d "$root$binary" | grep -q -e RUNPATH -e RPATH && fail "$binary has a RUNPATH or RPATH"
    needs=$(ldd "$root$binary")
    echo "$needs" | grep -q -e 'not found' -e "$toolchain" -e libswift -e libFoundation -e libicu -e libdispatch \
        && fail "$binary needs the Swift toolchain: $needs"
done
libraries() { ldd "$1" | awk '/=>/ { print $1 }' | sort; }
extra=$(libraries "$root$BINDIR/devsyncctl" | comm -23 - "$(libraries "$root$LIBEXECDIR/devsyncd" >"$root/daemon-libs"; echo "$root/daemon-libs")")
rm -f "$root/daemon-libs"
[ -z "$extra" ] || fail "devsyncctl needs libraries devsyncd does not: $extra"

# One version, everywhere: NEWS's newest entry, devsyncd --version, devsyncctl --version.
version=$(sed -n '/^[0-9][0-9.]*$/{p;q;}' NEWS)
[ "$("$root$LIBEXECDIR/devsyncd" --version)" = "devsyncd $version" ] || fail "devsyncd --version is not 'devsyncd $version'"
[ "$("$root$BINDIR/devsyncctl" --version)" = "$version" ] || fail "devsyncctl --version is not '$version'"
[ "$("$root$BINDIR/devsync-agent" --version)" = "devsync-agent $version" ] || fail "devsync-agent --version is not 'devsync-agent $version'"
# The agent links no library the daemon does not (no Foundation, no GLib).
extra=$(libraries "$root$BINDIR/devsync-agent" | comm -23 - "$(libraries "$root$LIBEXECDIR/devsyncd" >"$root/daemon-libs"; echo "$root/daemon-libs")")
rm -f "$root/daemon-libs"
[ -z "$extra" ] || fail "devsync-agent needs libraries devsyncd does not: $extra"
[ "$("$root$BINDIR/devsync-engine" --version)" = "$version" ] || fail "devsync-engine --version is not '$version'"

# The installed programs run with the toolchain out of reach: in a chroot that holds only them, the libraries
# ldd names, the installed profiles and a /proc (the Swift runtime dies at start without /proc/self/exe and
# maps; mounted with subset=pid, as the unit's ProcSubset=pid has it), if this is root and may mount; else with
# LD_LIBRARY_PATH unset. Without --profiles, devsyncctl reads the directories compiled in for PREFIX=/usr, where
# install put the profiles.
profiles=$(ls fdi-profiles/*.fdi | wc -l)
if [ "$(id -u)" = 0 ] && command -v chroot >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1 &&
    unshare --mount --propagation private sh -c "mkdir -p '$root/probe' && mount -t proc -o subset=pid proc '$root/probe'" 2>/dev/null; then
    rmdir "$root/probe"
    jail="$root/jail"
    for binary in "$LIBEXECDIR/devsyncd" "$BINDIR/devsyncctl" "$BINDIR/devsync-engine"; do
        mkdir -p "$jail$(dirname "$binary")"
        cp "$root$binary" "$jail$binary"
        for library in $(ldd "$root$binary" | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }'); do
            mkdir -p "$jail$(dirname "$library")"
            cp -L "$library" "$jail$library"
        done
    done
    mkdir -p "$jail$(dirname "$PROFILEDIR")" "$jail/proc"
    cp -r "$root$PROFILEDIR" "$jail$PROFILEDIR"
    # A mount namespace of its own: the /proc mount goes with it.
    run() { unshare --mount --propagation private sh -c 'mount -t proc -o subset=pid proc "$0/proc" && exec chroot "$0" "$@"' "$jail" "$@"; }
    where="in a chroot with only the binaries, their libraries and the profiles"
else
    rm -rf "$root/probe"
    run() { binary=$1; shift; env -u LD_LIBRARY_PATH "$root$binary" "$@"; }
    PROFILEDIR="$root$PROFILEDIR"
    where="with LD_LIBRARY_PATH unset (not root: no chroot)"
fi
[ "$(run "$LIBEXECDIR/devsyncd" --version 2>&1)" = "devsyncd $version" ] || fail "devsyncd does not run $where"
run "$LIBEXECDIR/devsyncd" --help 2>&1 | grep -q "Settings come from $CONFIGDIR/devsyncd.conf," \
    || fail "devsyncd does not read $CONFIGDIR/devsyncd.conf"
[ "$(run "$BINDIR/devsyncctl" --version 2>&1)" = "$version" ] || fail "devsyncctl does not run $where"
[ "$(run "$BINDIR/devsync-engine" --version 2>&1)" = "$version" ] || fail "devsync-engine does not run $where"
if [ -n "${jail:-}" ]; then
    checked=$(run "$BINDIR/devsyncctl" profiles check 2>&1) || fail "devsyncctl profiles check fails $where: $checked"
    case $checked in
        "$profiles files checked, "*) ;;
        *) fail "devsyncctl profiles check without --profiles did not read $PROFILEDIR: $checked" ;;
    esac
else
    run "$BINDIR/devsyncctl" profiles check --profiles "$PROFILEDIR" >/dev/null || fail "devsyncctl profiles check fails $where"
fi
rm -rf "${jail:-$root/none}"

# A plain `swift build` reads the default PREFIX's directories, the ones `make install` uses without PREFIX.
if [ -x .build/debug/devsyncctl ]; then
    default=$(make -s install-dirs | sed -n 's/^PROFILEDIR=//p')
    .build/debug/devsyncctl profiles --help | tr -s ' \n' '  ' | grep -qF "read from $default then /etc/devsync/fdi-profiles;" \
        || fail "a plain swift build does not read $default (make install-dirs's default PROFILEDIR)"
fi

# The unit names the installed daemon, no placeholder is left, and systemd accepts it.
unit="$root$SYSTEMDUNITDIR/devsyncd.service"
activation="$root$DBUSSERVICEDIR/org.devsync.Broker1.service"
for file in "$unit" "$activation" "$root$CONFIGDIR/devsyncd.conf"; do
    grep -q '@[a-z]*@' "$file" && fail "$file keeps a @placeholder@"
done
grep -qx "ExecStart=$LIBEXECDIR/devsyncd" "$unit" || fail "devsyncd.service does not start $LIBEXECDIR/devsyncd"
# The agent: its user unit in the graphical session, and an autostart file systemd does not turn into a second unit.
agent_unit="$root$SYSTEMDUSERUNITDIR/devsync-agent.service"
autostart="$root$XDGAUTOSTARTDIR/devsync-agent.desktop"
for file in "$agent_unit" "$autostart"; do
    grep -q '@[a-z]*@' "$file" && fail "$file keeps a @placeholder@"
    grep -qx "\(ExecStart\|Exec\)=$BINDIR/devsync-agent" "$file" || fail "$file does not start $BINDIR/devsync-agent"
done
grep -qx 'PartOf=graphical-session.target' "$agent_unit" || fail "devsync-agent.service is not part of graphical-session.target"
grep -qx 'WantedBy=graphical-session.target' "$agent_unit" || fail "devsync-agent.service is not wanted by graphical-session.target"
grep -qx 'X-systemd-skip=true' "$autostart" || fail "devsync-agent.desktop lacks X-systemd-skip=true: systemd would start a second agent"
if command -v desktop-file-validate >/dev/null 2>&1; then
    complaints=$(desktop-file-validate "$autostart" 2>&1) || fail "devsync-agent.desktop: $complaints"
fi
grep -qx 'Restart=on-failure' "$unit" || fail "devsyncd.service does not restart on failure"
grep -qx 'After=polkit.service' "$unit" || fail "devsyncd.service is not ordered after polkit"
grep -q '^WatchdogSec=' "$unit" && fail "devsyncd.service has a watchdog, which wakes the idle daemon"
grep -q '^\[Install\]' "$unit" && fail "devsyncd.service has an [Install] section; it is udev/D-Bus activated"
engine_unit="$root$SYSTEMDUSERUNITDIR/devsync-engine.service"
grep -q '@[a-z]*@' "$engine_unit" && fail "devsync-engine.service keeps a @placeholder@"
grep -qx "ExecStart=$BINDIR/devsync-engine" "$engine_unit" || fail "devsync-engine.service does not start $BINDIR/devsync-engine"
grep -qx 'WantedBy=default.target' "$engine_unit" || fail "devsync-engine.service is not wanted by the user's default.target"
grep -qx 'SystemdService=devsyncd.service' "$activation" || fail "the activation file does not name devsyncd.service"
grep -qx "Exec=$LIBEXECDIR/devsyncd" "$activation" || fail "the activation file does not start $LIBEXECDIR/devsyncd"
grep -qx "#ProfileDirectories=$PROFILEDIR:$CONFIGDIR/fdi-profiles" "$root$CONFIGDIR/devsyncd.conf" \
    || fail "devsyncd.conf does not show the installed profile directories"
if command -v systemd-analyze >/dev/null 2>&1; then
    # verify wants ExecStart to exist: point it at the DESTDIR copy, in a scratch copy of the unit.
    mkdir "$root/verify"
    sed "s|^ExecStart=.*|ExecStart=$root$LIBEXECDIR/devsyncd|" "$unit" > "$root/verify/devsyncd.service"
    # A bad value is only a warning to systemd (the setting is ignored): any output counts as a failure.
    complaints=$(systemd-analyze verify --man=no "$root/verify/devsyncd.service" 2>&1) \
        || fail "systemd-analyze verify rejects devsyncd.service: $complaints"
    [ -z "$complaints" ] || fail "systemd-analyze verify: $complaints"
    # The agent's user unit, by a user manager of a scratch runtime directory (there is none here otherwise).
    mkdir -m 700 "$root/verify/runtime" "$root/verify/user"
    sed "s|^ExecStart=.*|ExecStart=$root$BINDIR/devsync-agent|" "$agent_unit" > "$root/verify/user/devsync-agent.service"
    complaints=$(XDG_RUNTIME_DIR="$root/verify/runtime" systemd-analyze verify --user --man=no \
        "$root/verify/user/devsync-agent.service" 2>&1) || fail "systemd-analyze verify --user rejects devsync-agent.service: $complaints"
    [ -z "$complaints" ] || fail "systemd-analyze verify --user: $complaints"
    # The sandbox's exposure (0 best, 10 worst): 1.6 at most. Offline, as no systemd runs here.
    score=$(systemd-analyze security --offline=true --no-pager "$root/verify/devsyncd.service" 2>&1 \
        | sed -n 's/.*Overall exposure level for devsyncd.service: \([0-9.]*\).*/\1/p')
    if [ -z "$score" ]; then
        fail "systemd-analyze security gave no exposure level"
    elif ! awk -v s="$score" 'BEGIN { exit !(s <= 1.6) }'; then
        fail "devsyncd.service's exposure is $score, more than 1.6"
    fi
    rm -r "$root/verify"
fi

# The installed daemon starts, serves and stops under what this machine can reproduce of the unit's sandbox
# without systemd as PID 1 (docs/install.md): a mount namespace of its own (PrivateMounts=), a /proc with
# hidepid=invisible,subset=pid (ProtectProc=invisible, ProcSubset=pid), no capability (CapabilityBoundingSet=),
# no new privileges, the unit's Environment= and the seccomp filter of its SystemCallFilter=~… lines (a system call
# there kills the process, one with :EPERM fails). Needs root, unshare, a C compiler and systemd-analyze.
compiler=$(command -v cc || command -v gcc || command -v clang || true)
if [ "$(id -u)" = 0 ] && [ -n "$compiler" ] && command -v systemd-analyze >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1 &&
    command -v setpriv >/dev/null 2>&1 && command -v busctl >/dev/null 2>&1; then
    sandbox="$root/sandbox"
    mkdir -p "$sandbox/state"
    expand() { # a system call or @group → system call names, one a line
        case $1 in
            @*) systemd-analyze syscall-filter "$1" | sed -n 's/^    \([a-z0-9@_-]*\)$/\1/p' | while read -r entry; do expand "$entry"; done ;;
            *) echo "$1" ;;
        esac
    }
    : >"$sandbox/killed"; : >"$sandbox/eperm"
    for entry in $(sed -n 's/^SystemCallFilter=~//p' "$unit"); do
        case $entry in
            *:EPERM) echo "${entry%:EPERM}" >>"$sandbox/eperm" ;;
            *:*) fail "the sandbox check knows no action '${entry#*:}' (SystemCallFilter=~$entry)" ;;
            *) expand "$entry" >>"$sandbox/killed" ;;
        esac
    done
    numbers() { sort -u "$1" | while read -r call; do printf '#ifdef __NR_%s\n    __NR_%s,\n#endif\n' "$call" "$call"; done; }
    { echo 'static const int killed[] = {'; sort -u "$sandbox/killed" | comm -23 - "$(sort -u "$sandbox/eperm" >"$sandbox/eperm.sorted"; echo "$sandbox/eperm.sorted")" >"$sandbox/killed.only"
      numbers "$sandbox/killed.only"; echo '    -1 };'
      echo 'static const int eperm[] = {'; numbers "$sandbox/eperm"; echo '    -1 };'; } >"$sandbox/sandbox-syscalls.h"
    [ -s "$sandbox/killed.only" ] || fail "devsyncd.service blocks no system call (SystemCallFilter=~…)"
    "$compiler" -O -I"$sandbox" -o "$sandbox/sandbox-exec" tests/sandbox-exec.c || fail "cannot compile tests/sandbox-exec.c"
    : >"$sandbox/log"
    dbus-daemon --session --nofork --address="unix:path=$sandbox/bus" >/dev/null 2>&1 &
    bus=$!
    waited=0
    until [ -S "$sandbox/bus" ] || [ "$waited" -ge 100 ]; do sleep 0.1; waited=$((waited + 1)); done
    # shellcheck disable=SC2046 # one word per Environment= assignment
    env $(sed -n 's/^Environment=//p' "$unit") unshare --mount --propagation private sh -c \
        'mount -t proc -o hidepid=invisible,subset=pid proc /proc && exec setpriv --bounding-set=-all --no-new-privs "$@"' \
        sh "$sandbox/sandbox-exec" "$root$LIBEXECDIR/devsyncd" --bus "unix:path=$sandbox/bus" --profiles "$root$PROFILEDIR" \
        --state-dir "$sandbox/state" 2>"$sandbox/log" &
    daemon=$!
    waited=0
    until grep -q 'devsyncd ready' "$sandbox/log" || ! kill -0 "$daemon" 2>/dev/null || [ "$waited" -ge 300 ]; do
        sleep 0.1; waited=$((waited + 1))
    done
    if grep -q 'devsyncd ready' "$sandbox/log" && kill -0 "$daemon" 2>/dev/null; then
        grep -q '^Seccomp:[[:space:]]*2' "/proc/$daemon/status" || fail "the sandboxed devsyncd runs without its seccomp filter"
        grep -q '^CapEff:[[:space:]]*0*$' "/proc/$daemon/status" || fail "the sandboxed devsyncd kept capabilities"
        for call in 1 2 3; do
            busctl --address="unix:path=$sandbox/bus" call org.devsync.Broker1 /org/devsync/Broker1 \
                org.devsync.Broker1.Manager ListDevices >/dev/null || fail "the sandboxed devsyncd did not answer ListDevices"
        done
        answer=$(busctl --address="unix:path=$sandbox/bus" get-property org.devsync.Broker1 /org/devsync/Broker1 \
            org.devsync.Broker1.Manager DaemonVersion)
        [ "$answer" = "s \"$version\"" ] || fail "the sandboxed devsyncd's DaemonVersion is $answer"
        kill -TERM "$daemon"
    fi
    status=0; wait "$daemon" || status=$?
    kill "$bus" 2>/dev/null; wait "$bus" 2>/dev/null || true
    if [ "$status" -ne 0 ] || ! grep -q 'devsyncd stopped' "$sandbox/log"; then
        fail "devsyncd under the unit's sandbox exited with status $status (159: killed by its system call filter): $(tail -n 5 "$sandbox/log")"
    fi
    rm -rf "$sandbox"
else
    echo "install-tree: the sandbox check needs root, a C compiler, systemd-analyze, unshare, setpriv and busctl: skipped" >&2
fi

# The configuration is a [Daemon] section whose keys are all commented out, each one of the documented keys.
conf="$root$CONFIGDIR/devsyncd.conf"
grep -qx '\[Daemon\]' "$conf" || fail "devsyncd.conf has no [Daemon] section"
grep -v '^#' "$conf" | grep -v '^$' | grep -vqx '\[Daemon\]' && fail "devsyncd.conf sets a key; all must be commented"
keys=$(sed -n 's/^#\([A-Za-z]*\)=.*/\1/p' "$conf" | tr '\n' ' ')
[ "$keys" = "ProfileDirectories StateDirectory Bus ApprovalPolicy OwnerCallout OwnerCalloutTimeout LogLevel " ] \
    || fail "devsyncd.conf keys are '$keys'"

# The man pages render without a warning.
if command -v groff >/dev/null 2>&1; then
    for page in "$root$MANDIR/man1/devsyncctl.1" "$root$MANDIR/man8/devsyncd.8" "$root$MANDIR/man1/devsync-agent.1"; do
        warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
        [ -z "$warnings" ] || fail "$page: $warnings"
    done
fi

# An administrator's edited configuration survives a reinstall and an uninstall.
echo '#edited' >> "$conf"
make -s install-files DESTDIR="$root" PREFIX=/usr >/dev/null
tail -n 1 "$conf" | grep -qx '#edited' || fail "install-files overwrote an edited devsyncd.conf"
make -s uninstall DESTDIR="$root" PREFIX=/usr >/dev/null
[ -f "$conf" ] || fail "uninstall removed an edited devsyncd.conf"
rm "$conf"

# DEBUGDIR keeps each binary's debug information in a file its stripped binary names, for a -dbg package.
make -s install-files DESTDIR="$root" PREFIX=/usr DEBUGDIR=/usr/lib/debug >/dev/null
for binary in "$LIBEXECDIR/devsyncd" "$BINDIR/devsyncctl"; do
    debug="/usr/lib/debug$binary.debug"
    expect 644 "$debug"
    readelf -S -W "$root$debug" 2>/dev/null | grep -q ' \.debug_info ' || fail "$debug holds no debug information"
    readelf -p .gnu_debuglink "$root$binary" 2>/dev/null | grep -q "$(basename "$debug")" \
        || fail "$binary does not name $(basename "$debug")"
done

# Uninstall: nothing but empty shared directories remains, and none of devsync's own directories.
make -s uninstall DESTDIR="$root" PREFIX=/usr DEBUGDIR=/usr/lib/debug >/dev/null
left=$(find "$root" ! -type d)
[ -z "$left" ] || fail "uninstall left: $left"
for own in "$(dirname "$PROFILEDIR")" "$CONFIGDIR"; do
    [ ! -e "$root$own" ] || fail "uninstall left the directory $own"
done

if [ "$failures" -ne 0 ]; then
    echo "install-tree: $failures failures" >&2
    exit 1
fi
echo "install-tree: make install PREFIX=/usr, the installed programs without the toolchain, make uninstall: ok"
