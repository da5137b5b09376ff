#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Which parts of devsyncd's own binary are resident, by where their bytes came from at link time.

Reads the present bit of every page of the binary's mappings (/proc/PID/pagemap: root), turns each page's address
into the link-time address, and splits it among the input sections ld.lld's link map (`-Map`, `make release`
writes .build-static/devsyncd.map) placed there: the Swift runtime and standard library (swift_static/*.a),
libstdc++.a, devsync's modules, the packages it uses. Answers what the file-backed part of devsyncd's memory is
made of: what dynamic linking of the Swift runtime could share with other Swift processes, and what is devsync's.

    DEVSYNC_RESIDENCY_MAP=.build-static/devsyncd.map DEVSYNC_RESOURCES_HOOK=Benchmarks/Daemon/residency.py \\
    LD_PRELOAD=libumockdev-preload.so.0 /usr/bin/python3 Benchmarks/Daemon/resources.py \\
        --binary .build-static/release/devsyncd --devices 100 --idle 1 --runs 1
    Benchmarks/Daemon/residency.py PID [MAP]      # on any running devsyncd linked with that map
"""
import bisect
import os
import re
import struct
import sys

PAGE = os.sysconf('SC_PAGE_SIZE')
DEVSYNC_MODULES = set(os.listdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'Sources')))


def origin(path):
    """A short name for where an input section came from."""
    if path.startswith('<internal>'):
        return 'linker-made (.got, .plt, .dynsym …)'
    m = re.search(r'/release/([^/]+)\.build/', path)
    if m:
        return ('devsync: ' if m.group(1) in DEVSYNC_MODULES else 'package: ') + m.group(1)
    m = re.search(r'/swift_static/[^(]*/([^/(]+\.a)\(', path)
    if m:
        return 'Swift runtime: ' + m.group(1)
    if 'swift_static' in path:
        return 'Swift runtime: ' + os.path.basename(path.split('(')[0])
    if 'libstdc++' in path or 'libsupc++' in path:
        return 'libstdc++.a'
    return 'other: ' + os.path.basename(path.split('(')[0])


# Output sections that are not loaded (their addresses are 0): debug information, symbols, notes for tools.
NOT_LOADED = re.compile(r'^\.(debug|comment|symtab|strtab|shstrtab|gnu_debuglink)')


def read_map(path):
    """Sorted [(start, end, origin, output section)] of every input section with a size."""
    line_re = re.compile(r'^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+ (\s*)(.*)$')
    out_section = None
    spans = []
    with open(path) as f:
        next(f)
        for line in f:
            m = line_re.match(line)
            if not m:
                continue
            start, size, indent, rest = int(m.group(1), 16), int(m.group(2), 16), len(m.group(3)), m.group(4)
            if indent == 0:
                out_section = rest.strip()
            elif indent == 8 and size and ':(' in rest and not NOT_LOADED.match(out_section or ''):
                spans.append((start, start + size, origin(rest), out_section))
    spans.sort()
    return spans


def resident_ranges(pid, binary):
    """[(link address, present)] for every page of the binary's mappings."""
    maps = []
    with open('/proc/%d/maps' % pid) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and os.path.realpath(fields[5]) == binary:
                lo, hi = (int(x, 16) for x in fields[0].split('-'))
                maps.append((lo, hi, fields[1]))
    base = min(lo for lo, _, _ in maps)
    pages = []
    with open('/proc/%d/pagemap' % pid, 'rb') as pm:
        for lo, hi, perms in maps:
            pm.seek(lo // PAGE * 8)
            data = pm.read((hi - lo) // PAGE * 8)
            for i, (entry,) in enumerate(struct.iter_unpack('<Q', data)):
                pages.append((lo - base + i * PAGE, bool(entry >> 63), perms))
    return pages


def main():
    pid = int(sys.argv[1])
    map_path = sys.argv[2] if len(sys.argv) > 2 else os.environ.get('DEVSYNC_RESIDENCY_MAP', '')
    if not map_path:
        raise SystemExit('residency: give the link map (argument or DEVSYNC_RESIDENCY_MAP)')
    binary = os.path.realpath('/proc/%d/exe' % pid)
    spans = read_map(map_path)
    starts = [s[0] for s in spans]
    by_origin, by_section, totals = {}, {}, {}
    for address, present, perms in resident_ranges(pid, binary):
        key = 'resident' if present else 'mapped'
        totals[(perms, key)] = totals.get((perms, key), 0) + PAGE
        if not present:
            continue
        i = max(0, bisect.bisect_right(starts, address) - 1)
        covered = 0
        while i < len(spans) and spans[i][0] < address + PAGE:
            lo, hi, who, section = spans[i]
            overlap = min(hi, address + PAGE) - max(lo, address)
            if overlap > 0:
                group = 'text' if perms == 'r-xp' else ('data' if 'w' in perms else 'read-only')
                by_origin[(group, who)] = by_origin.get((group, who), 0) + overlap
                by_section[section] = by_section.get(section, 0) + overlap
                covered += overlap
            i += 1
    print('# residency of %s (pid %d), KiB' % (binary, pid))
    for (perms, key), size in sorted(totals.items()):
        print('  %-5s %-8s %7d' % (perms, key, size // 1024))
    for group in ('text', 'read-only', 'data'):
        rows = sorted(((size, who) for (g, who), size in by_origin.items() if g == group), reverse=True)
        print('  %s, resident by origin:' % group)
        for size, who in rows:
            if size >= 8192:
                print('    %7d  %s' % (size // 1024, who))
        rest = sum(size for size, _ in rows if size < 8192)
        print('    %7d  (the rest, each under 8 KiB)' % (rest // 1024))
    print('  resident by output section:')
    for section, size in sorted(by_section.items(), key=lambda kv: -kv[1]):
        if size >= 16384:
            print('    %7d  %s' % (size // 1024, section))
    return 0


if __name__ == '__main__':
    sys.exit(main())
