#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 17's table from the peer harness's JSON (Benchmarks/Peers, `run-peers.sh ... --json FILE`).

Each run is three files: `all` (hotplug, cold-plug, idle: `run-peers.sh all`), `api` (memory at 0/100/1,000
devices: `run-peers.sh bolt devsyncd --phases floor,api`) and `kernel` (`DEVSYNCD_PLUG=kernel run-peers.sh bolt
devsyncd --phases floor,hotplug`). Every ratio is devsyncd / boltd within one run; nothing is compared across runs.

    peer-table.py --run r1-all.json,r1-api.json,r1-kernel.json[,r1-floor.json] --run r2-... [--load "0.6-0.9" ...]

With a fourth file per run (`Benchmarks/CFloor/run-peers.sh bolt devsyncd cfloor --phases floor,hotplug,coldplug`),
and the api and kernel files from the same runner with `cfloor` among the peers (side-by-side.sh does both), a
second table gives boltd, devsyncd and the plain-C floor side by side, each ratio to boltd in its invocation.
"""
import argparse
import json


def figures(path):
    out = {}
    for entry in json.load(open(path))["results"]:
        out.setdefault(entry.get("peer"), {})[entry.get("figure")] = entry
    return out


def row_values(all_, api, kernel):
    """(name, target, boltd value, devsyncd value, unit) for each row of the issue's table."""
    b, d = all_["bolt"], all_["devsyncd"]
    kb, kd = kernel["bolt"], kernel["devsyncd"]
    ab, ad = api["bolt"], api["devsyncd"]

    def smaps(peers, daemon, n, key):
        return peers[f"api.n{n}.smaps_kib.{daemon}"][key]

    def per_device(peers, daemon):
        return (smaps(peers, daemon, 1000, "anonymous") - smaps(peers, daemon, 0, "anonymous")) / 1000

    return [
        ("add, daemon's share (after_emit) p50", 0.8, b["hotplug.add.after_emit_us"]["p50"] / 1000,
         d["hotplug.add.after_emit_us"]["p50"] / 1000, "ms"),
        ("add, daemon's share p99", 0.8, b["hotplug.add.after_emit_us"]["p99"] / 1000,
         d["hotplug.add.after_emit_us"]["p99"] / 1000, "ms"),
        ("add in the kernel's order, daemon's share p50", 1.0, kb["hotplug.add.after_emit_us"]["p50"] / 1000,
         kd["hotplug.add.after_emit_us"]["p50"] / 1000, "ms"),
        ("remove, daemon's share p50", 0.8, b["hotplug.remove.after_emit_us"]["p50"] / 1000,
         d["hotplug.remove.after_emit_us"]["p50"] / 1000, "ms"),
        ("cold-plug 500, published (median of 3)", 0.7, b["coldplug.n500.published_ms"]["median"],
         d["coldplug.n500.published_ms"]["median"], "ms"),
        ("RSS, 100 devices idle", 1.1, b["idle.n100.rss_kib.boltd"]["median"] / 1024,
         d["idle.n100.rss_kib.devsyncd"]["median"] / 1024, "MiB"),
        ("PSS, 100 devices", 1.5, smaps(ab, "boltd", 100, "pss") / 1024, smaps(ad, "devsyncd", 100, "pss") / 1024,
         "MiB"),
        ("anonymous memory per device (0 → 1,000)", 1.5, per_device(ab, "boltd"), per_device(ad, "devsyncd"),
         "KiB"),
        ("RSS, 1,000 devices", None, smaps(ab, "boltd", 1000, "rss") / 1024,
         smaps(ad, "devsyncd", 1000, "rss") / 1024, "MiB"),
    ], (b["idle.n100.wakeups_10s.boltd"]["values"], d["idle.n100.wakeups_10s.devsyncd"]["values"])


def floor_rows(api, kernel, floor):
    """(name, unit, {peer: value}) for the rows where the plain-C floor ran beside boltd and devsyncd."""
    def value(peers, peer, figure, key):
        entry = peers.get(peer, {}).get(figure)
        return None if entry is None else entry[key]

    def timing(peers, figure, key, scale):
        return {peer: (lambda v: None if v is None else v / scale)(value(peers, peer, figure, key))
                for peer in ("bolt", "devsyncd", "cfloor")}

    def memory(key, n, scale=1024):
        return {peer: (lambda v: None if v is None else v / scale)(
            value(api, peer, f"api.n{n}.smaps_kib.{daemon}", key))
            for peer, daemon in (("bolt", "boltd"), ("devsyncd", "devsyncd"), ("cfloor", "cfloor"))}

    def per_device():
        out = {}
        for peer, daemon in (("bolt", "boltd"), ("devsyncd", "devsyncd"), ("cfloor", "cfloor")):
            high = value(api, peer, f"api.n1000.smaps_kib.{daemon}", "anonymous")
            low = value(api, peer, f"api.n0.smaps_kib.{daemon}", "anonymous")
            out[peer] = None if high is None or low is None else (high - low) / 1000
        return out

    return [
        ("add, daemon's share (after_emit) p50", "ms", timing(floor, "hotplug.add.after_emit_us", "p50", 1000)),
        ("add, daemon's share p99", "ms", timing(floor, "hotplug.add.after_emit_us", "p99", 1000)),
        ("add in the kernel's order p50", "ms", timing(kernel, "hotplug.add.after_emit_us", "p50", 1000)),
        ("remove, daemon's share p50", "ms", timing(floor, "hotplug.remove.after_emit_us", "p50", 1000)),
        ("cold-plug 500, published (median of 3)", "ms", timing(floor, "coldplug.n500.published_ms", "median", 1)),
        ("RSS, 100 devices", "MiB", memory("rss", 100)),
        ("PSS, 100 devices", "MiB", memory("pss", 100)),
        ("anonymous memory per device (0 → 1,000)", "KiB", per_device()),
    ]


def print_floor_table(runs):
    """boltd · devsyncd · C floor per run, each ratio to boltd in its own invocation."""
    names = [f"run {index + 1}: boltd · devsyncd · C floor (devsyncd/boltd, floor/boltd)" for index in range(len(runs))]
    print("\n| figure | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(runs))
    for index, (name, unit, _) in enumerate(runs[0]):
        cells = []
        for rows in runs:
            values = rows[index][2]
            bolt, ours, floor = values["bolt"], values["devsyncd"], values["cfloor"]
            if None in (bolt, ours, floor):
                cells.append("–")
                continue
            cells.append(f"{bolt:.2f} · {ours:.2f} · {floor:.2f} {unit} ({ours / bolt:.2f}, {floor / bolt:.2f})")
        print(f"| {name} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="all.json,api.json,kernel.json")
    parser.add_argument("--load", action="append", default=[], help="the load average of each run, as text")
    arguments = parser.parse_args()
    files = [[figures(path) for path in run.split(",")] for run in arguments.run]
    runs = [row_values(*parts[:3]) for parts in files]
    names = [f"run {index + 1}" for index in range(len(runs))]
    print("| figure (boltd / devsyncd = ratio) | target | " + " | ".join(names) + " | met in every run |")
    print("|---|---|" + "---|" * len(runs) + "---|")
    for index, (name, target, _, _, unit) in enumerate(runs[0][0]):
        cells, met = [], True
        for rows, _ in runs:
            _, _, bolt, ours, _ = rows[index]
            ratio = ours / bolt
            met = met and (target is None or ratio <= target)
            cells.append(f"{bolt:.2f} / {ours:.2f} {unit} = **{ratio:.2f}**")
        verdict = "–" if target is None else ("yes" if met else "no")
        print(f"| {name} | {'–' if target is None else f'≤ {target}'} | " + " | ".join(cells) + f" | {verdict} |")
    wakeups = [f"{bolt} / {ours}" for _, (bolt, ours) in runs]
    zero = all(sum(ours) == 0 for _, (_, ours) in runs)
    print(f"| wakeups in 10 idle s, 100 devices (3 windows) | 0 | " + " | ".join(wakeups) +
          f" | {'yes' if zero else 'no'} |")
    if all(len(parts) == 4 for parts in files):
        print_floor_table([floor_rows(parts[1], parts[2], parts[3]) for parts in files])
    if arguments.load:
        print("\nLoad average (1, 5, 15 min) per run: " + "; ".join(
            f"run {index + 1}: {load}" for index, load in enumerate(arguments.load)))


if __name__ == "__main__":
    main()
