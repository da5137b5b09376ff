#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes data/devsyncd.order: the functions devsyncd runs, for the release link to place next to each other.

The kernel maps a program's code 64 KiB around every page fault (fault-around), so a function run once makes
its whole neighbourhood resident. `make release` links devsyncd with ld.lld, every module compiled with function
sections, and `--symbol-ordering-file=data/devsyncd.order`: the functions named there come first in `.text`, in
the file's order, and the ones never run stay in pages that are never touched (docs/benchmarks.md, "devsyncd:
memory"). A stale or missing name only costs memory: lld ignores it.

This script finds the names by running the release devsyncd under valgrind's callgrind, which lists every
function executed, in two scenarios:

  1. start: Benchmarks/Daemon/resources.py's (N Palms present at start, settle, idle, SIGTERM), the state in
     which the memory is measured; its functions come first;
  2. demo: scripts/demo (plug in, pair over fake BlueZ, approve, sync through the reference engine, D-Bus
     calls from devsyncctl, unplug, stop); the functions only it runs come next;
  3. calls: the start again, then the calls clients make and a flood's error replies
     (Benchmarks/Daemon/client-calls.sh: Introspect, Properties.Get/GetAll, GetManagedObjects, an unknown uid,
     wrong arguments); the functions only they run come last.

Each group is sorted by name so that a new profile gives a small diff. A name defined more than once (local
helpers such as `$sSqwxx`, emitted into many objects) makes lld move every section defining it; one is left
out when a section defining it is larger than 1 KiB and would otherwise stay out of the ordered part (whole
`.text` sections of libraries built without function sections: moving them would make them resident). That
needs the link map `make release` writes (`.build-static/devsyncd.map`).

    make release && make orderfile    # or, by hand:
    /usr/bin/python3 Benchmarks/Daemon/orderfile.py [--binary .build-static/release/devsyncd] \
        [--map .build-static/devsyncd.map] [--output data/devsyncd.order]

Needs valgrind, Debian's python3 (as resources.py) and the release devsyncctl (`make release` builds both).
valgrind 3.19 cannot read the DWARF 5 of the toolchain's clang, so it profiles a copy without debug info.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A section defining a duplicated name, larger than this and not otherwise ordered, keeps the name out.
DRAG_LIMIT = 1024


def callgrind_functions(path, binary_name):
    """The functions of `binary_name` that executed at least one instruction, from a callgrind output file.

    callgrind compresses names: `fn=(12) name` the first time, `fn=(12)` after; `ob=` names the object the
    following `fn=` lines belong to. A recursion level is appended as `'2`."""
    names = {"ob": {}, "fn": {}}
    current_object = None
    executed = set()
    with open(path, errors="replace") as file:
        for line in file:
            match = re.match(r"^(c?)(ob|fn)=(?:\((\d+)\))?\s*(.*)$", line.rstrip("\n"))
            if not match:
                continue
            called, kind, ident, name = match.groups()
            if ident is not None:
                if name:
                    names[kind][ident] = name
                else:
                    name = names[kind].get(ident, "")
            if called:
                continue
            if kind == "ob":
                current_object = name
            elif current_object and os.path.basename(current_object) == binary_name:
                executed.add(re.sub(r"'\d+$", "", name))
    # Addresses callgrind could not name (PLT entries and the like) cannot be ordered.
    return {name for name in executed if name and not name.startswith("0x") and not name.startswith("(")}


def text_sections(map_path):
    """From an ld.lld link map: for each `.text` input section, its size and the symbols it defines."""
    sections = []
    in_text = False
    current = None
    with open(map_path) as file:
        for line in file:
            match = re.match(r"^\s*[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+( +)(.*)$", line.rstrip("\n"))
            if not match:
                continue
            size, indent, rest = int(match.group(1), 16), len(match.group(2)), match.group(3)
            if indent == 1:  # an output section
                in_text = rest == ".text"
            elif not in_text:
                continue
            elif indent <= 9:  # an input section
                current = (size, rest, [])
                sections.append(current)
            elif current is not None:  # a symbol in it
                current[2].append(rest)
    return sections


def choose(groups, sections):
    """Drops the duplicated names whose ordering would drag large, otherwise unordered sections along."""
    defined_in = {}
    for index, (_, _, symbols) in enumerate(sections):
        for symbol in symbols:
            defined_in.setdefault(symbol, []).append(index)
    executed = set().union(*groups)
    ordered_sections = {index for name in executed if len(defined_in.get(name, [])) == 1 for index in defined_in[name]}
    dropped = set()
    for name in executed:
        places = defined_in.get(name, [])
        if len(places) > 1 and any(sections[i][0] > DRAG_LIMIT and i not in ordered_sections for i in places):
            dropped.add(name)
    kept = executed - dropped
    ordered_sections |= {index for name in kept for index in defined_in.get(name, [])}
    return [sorted(group - dropped) for group in groups], dropped, sum(sections[i][0] for i in ordered_sections)


def symbol_sizes(binary):
    """Sizes of the binary's function symbols, by name (the largest when a name is defined twice)."""
    output = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in output.splitlines():
        fields = line.split(None, 3)
        if len(fields) == 4 and fields[2] in "tTwW":
            sizes[fields[3]] = max(sizes.get(fields[3], 0), int(fields[1], 16))
    return sizes


def profile(binary, ctl, devices, work):
    """Runs the two scenarios under callgrind; returns the callgrind output files of each."""
    profiled = os.path.join(work, "devsyncd")
    stripped = os.path.join(work, "devsyncd.profiled")
    objcopy = shutil.which("objcopy") or sys.exit("orderfile: objcopy (binutils) is needed")
    subprocess.run([objcopy, "--strip-debug", binary, stripped], check=True)
    outputs = os.path.join(work, "callgrind")
    os.mkdir(outputs)
    valgrind = ["valgrind", "--quiet", "--tool=callgrind", "--demangle=no"]

    start_out = os.path.join(outputs, "start.%p")
    environment = dict(os.environ, LD_PRELOAD="libumockdev-preload.so.0",
                       DEVSYNC_RESOURCES_WRAPPER=" ".join(valgrind + [f"--callgrind-out-file={start_out}"]))
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "Benchmarks/Daemon/resources.py"), "--binary", stripped,
                    "--devices", str(devices), "--idle", "1", "--settle", "2", "--runs", "1"],
                   env=environment, check=True)
    start = [os.path.join(outputs, name) for name in os.listdir(outputs)]

    calls_out = os.path.join(outputs, "calls.%p")
    environment = dict(environment, DEVSYNC_RESOURCES_WRAPPER=" ".join(valgrind + [f"--callgrind-out-file={calls_out}"]),
                       DEVSYNC_RESOURCES_HOOK=os.path.join(ROOT, "Benchmarks/Daemon/client-calls.sh"))
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "Benchmarks/Daemon/resources.py"), "--binary", stripped,
                    "--devices", str(devices), "--idle", "1", "--settle", "2", "--runs", "1"],
                   env=environment, check=True)
    calls = [os.path.join(outputs, name) for name in os.listdir(outputs) if name.startswith("calls.")]

    # scripts/demo runs `$DEVSYNC_BUILD_DIR/devsyncd` (a path below the repository): a wrapper there.
    with open(profiled, "w") as file:
        file.write("#!/bin/sh\nexec " + " ".join(valgrind) + f" --callgrind-out-file={outputs}/demo.%p "
                   f"{stripped} \"$@\"\n")
    os.chmod(profiled, 0o755)
    os.symlink(os.path.abspath(ctl), os.path.join(work, "devsyncctl"))
    # The demo also runs the desktop agent and the reference engine, built next to devsyncctl.
    for program in ["devsync-agent", "devsync-engine"]:
        os.symlink(os.path.join(os.path.dirname(os.path.abspath(ctl)), program), os.path.join(work, program))
    demo_environment = dict(os.environ, DEVSYNC_BUILD_DIR=os.path.relpath(work, ROOT))
    demo_environment.pop("LD_PRELOAD", None)
    with open(os.path.join(work, "demo.log"), "w") as log:
        if subprocess.run([os.path.join(ROOT, "scripts/demo")], env=demo_environment, stdout=log,
                          stderr=subprocess.STDOUT).returncode != 0:
            sys.exit(f"orderfile: the demo failed under callgrind:\n{open(os.path.join(work, 'demo.log')).read()}")
    demo = [os.path.join(outputs, name) for name in os.listdir(outputs) if name.startswith("demo.")]
    return start, demo, calls, os.path.basename(stripped)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build-static/release/devsyncd"))
    parser.add_argument("--map", default=os.path.join(ROOT, ".build-static/devsyncd.map"),
                        help="ld.lld's link map of --binary (make release writes it)")
    parser.add_argument("--ctl", default=os.path.join(ROOT, ".build/release/devsyncctl"))
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--output", default=os.path.join(ROOT, "data/devsyncd.order"))
    arguments = parser.parse_args()
    for path in (arguments.binary, arguments.map, arguments.ctl):
        if not os.path.exists(path):
            sys.exit(f"orderfile: no {path}; run `make release` (with ld.lld) first")
    if not shutil.which("valgrind"):
        sys.exit("orderfile: valgrind is needed (apt-get install valgrind)")

    os.makedirs(os.path.join(ROOT, ".build-orderfile"), exist_ok=True)
    work = tempfile.mkdtemp(dir=os.path.join(ROOT, ".build-orderfile"))
    os.chmod(work, 0o755)  # the demo runs devsyncctl, the agent and the engine as a user who is not root
    try:
        start_files, demo_files, calls_files, name = profile(arguments.binary, arguments.ctl, arguments.devices, work)
        start = set().union(*(callgrind_functions(path, name) for path in start_files))
        demo = set().union(*(callgrind_functions(path, name) for path in demo_files)) - start
        calls = set().union(*(callgrind_functions(path, name) for path in calls_files)) - start - demo
    finally:
        shutil.rmtree(work)
    if len(start) < 100:
        sys.exit(f"orderfile: only {len(start)} functions seen at start; is valgrind working?")

    (start_names, demo_names, calls_names), dropped, ordered_bytes = choose([start, demo, calls],
                                                                           text_sections(arguments.map))
    sizes = symbol_sizes(arguments.binary)
    executed_bytes = sum(sizes.get(name, 0) for name in start | demo | calls)
    with open(arguments.output, "w") as file:
        file.write("# devsyncd's functions in the order `make release` places them (ld.lld --symbol-ordering-file).\n"
                   "# Generated by Benchmarks/Daemon/orderfile.py (`make orderfile`); do not edit.\n"
                   f"# {len(start_names)} run at start with {arguments.devices} devices, then {len(demo_names)} "
                   f"more run by scripts/demo, then {len(calls_names)} more run by clients' calls; "
                   f"{len(dropped)} duplicated names left out.\n"
                   f"# Executed functions: {executed_bytes} bytes; ordered sections: {ordered_bytes} bytes.\n")
        # The C start-up code, run by every start: the entry point (callgrind's "(below main)") and crtbegin's
        # frame_dummy (an .init_array constructor callgrind does not report); each sits in a section of its own.
        for name in ["_start", "frame_dummy"] + start_names + demo_names + calls_names:
            file.write(name + "\n")
    print(f"orderfile: {arguments.output}: {len(start_names)} + {len(demo_names)} + {len(calls_names)} functions "
          f"({executed_bytes / 1024:.0f} KiB executed, {ordered_bytes / 1024:.0f} KiB of sections ordered), "
          f"{len(dropped)} duplicated names left out")


if __name__ == "__main__":
    main()
