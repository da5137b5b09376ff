#!/bin/sh
# make install-files into a temporary DESTDIR, check the tree, then make uninstall and check nothing of ours is
# left. Uses the debug binaries `make check` has just built (a release build takes minutes).
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-.build/debug}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
failures=0
fail() { echo "install-tree: FAIL: $*" >&2; failures=$((failures + 1)); }

make -s install-files BUILD_DIR="$BUILD_DIR" DESTDIR="$root" PREFIX=/usr >/dev/null

# What goes where, with the mode it must have.
expect() { # mode path
    [ -f "$root$2" ] || { fail "missing $2"; return; }
    mode=$(stat -c %a "$root$2")
    [ "$mode" = "$1" ] || fail "$2 has mode $mode, expected $1"
    [ -s "$root$2" ] || fail "$2 is empty"
}
expect 755 /usr/libexec/devsyncd
expect 755 /usr/bin/devsyncctl
expect 644 /usr/lib/udev/rules.d/70-devsync.rules
expect 644 /usr/lib/systemd/system/devsyncd.service
expect 644 /usr/share/dbus-1/system.d/org.devsync.Broker1.conf
expect 644 /usr/share/dbus-1/system-services/org.devsync.Broker1.service
expect 644 /usr/share/polkit-1/actions/org.devsync.policy
expect 644 /etc/devsync/devsyncd.conf
expect 644 /usr/share/man/man1/devsyncctl.1
expect 644 /usr/share/man/man8/devsyncd.8
expect 644 /usr/share/bash-completion/completions/devsyncctl
expect 644 /usr/share/zsh/site-functions/_devsyncctl
expect 644 /usr/share/fish/vendor_completions.d/devsyncctl.fish
for profile in fdi-profiles/*.fdi; do
    expect 644 "/usr/share/devsync/fdi-profiles/$(basename "$profile")"
done

# The installed profiles load without an error and are the ones the installed rules were generated from.
"$root/usr/bin/devsyncctl" profiles check --profiles "$root/usr/share/devsync/fdi-profiles" >/dev/null \
    || fail "the installed profiles do not check clean"
"$root/usr/bin/devsyncctl" profiles export-udev --profiles "$root/usr/share/devsync/fdi-profiles" \
    | cmp -s - "$root/usr/lib/udev/rules.d/70-devsync.rules" || fail "70-devsync.rules does not match the profiles"

# The unit names the installed daemon, no placeholder is left, and systemd accepts it.
unit="$root/usr/lib/systemd/system/devsyncd.service"
grep -q '@[a-z]*@' "$unit" && fail "devsyncd.service keeps a @placeholder@"
grep -qx 'ExecStart=/usr/libexec/devsyncd' "$unit" || fail "devsyncd.service does not start /usr/libexec/devsyncd"
grep -q '^\[Install\]' "$unit" && fail "devsyncd.service has an [Install] section; it is udev/D-Bus activated"
grep -qx 'SystemdService=devsyncd.service' "$root/usr/share/dbus-1/system-services/org.devsync.Broker1.service" \
    || fail "the activation file does not name devsyncd.service"
if command -v systemd-analyze >/dev/null 2>&1; then
    # verify wants ExecStart to exist: point it at the DESTDIR copy, in a scratch copy of the unit.
    mkdir "$root/verify"
    sed "s|^ExecStart=.*|ExecStart=$root/usr/libexec/devsyncd|" "$unit" > "$root/verify/devsyncd.service"
    # A bad value is only a warning to systemd (the setting is ignored): any output counts as a failure.
    complaints=$(systemd-analyze verify --man=no "$root/verify/devsyncd.service" 2>&1) \
        || fail "systemd-analyze verify rejects devsyncd.service: $complaints"
    [ -z "$complaints" ] || fail "systemd-analyze verify: $complaints"
    rm -r "$root/verify"
fi

# The configuration is a [Daemon] section whose keys are all commented out, each one of the documented keys.
conf="$root/etc/devsync/devsyncd.conf"
grep -qx '\[Daemon\]' "$conf" || fail "devsyncd.conf has no [Daemon] section"
grep -v '^#' "$conf" | grep -v '^$' | grep -vqx '\[Daemon\]' && fail "devsyncd.conf sets a key; all must be commented"
keys=$(sed -n 's/^#\([A-Za-z]*\)=.*/\1/p' "$conf" | tr '\n' ' ')
[ "$keys" = "ProfileDirectories StateDirectory Bus ApprovalPolicy OwnerCallout OwnerCalloutTimeout LogLevel " ] \
    || fail "devsyncd.conf keys are '$keys'"

# The man pages render without a warning.
if command -v groff >/dev/null 2>&1; then
    for page in "$root/usr/share/man/man1/devsyncctl.1" "$root/usr/share/man/man8/devsyncd.8"; do
        warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
        [ -z "$warnings" ] || fail "$page: $warnings"
    done
fi

# An administrator's edited configuration survives a reinstall and an uninstall.
echo '#edited' >> "$conf"
make -s install-files BUILD_DIR="$BUILD_DIR" DESTDIR="$root" PREFIX=/usr >/dev/null
tail -n 1 "$conf" | grep -qx '#edited' || fail "install-files overwrote an edited devsyncd.conf"
make -s uninstall DESTDIR="$root" PREFIX=/usr >/dev/null
[ -f "$conf" ] || fail "uninstall removed an edited devsyncd.conf"
rm "$conf"

# Reinstall, uninstall: nothing but empty shared directories remains, and none of devsync's own directories.
make -s install-files BUILD_DIR="$BUILD_DIR" DESTDIR="$root" PREFIX=/usr >/dev/null
make -s uninstall DESTDIR="$root" PREFIX=/usr >/dev/null
left=$(find "$root" ! -type d)
[ -z "$left" ] || fail "uninstall left: $left"
for own in /usr/share/devsync /etc/devsync; do
    [ ! -e "$root$own" ] || fail "uninstall left the directory $own"
done

if [ "$failures" -ne 0 ]; then
    echo "install-tree: $failures failures" >&2
    exit 1
fi
echo "install-tree: make install-files and make uninstall: ok"
