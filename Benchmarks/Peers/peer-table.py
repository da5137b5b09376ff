#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Issue 17's table from the peer harness's JSON (../shared/peers, `run-peers.sh ... --json FILE`).

Each run is three files: `all` (hotplug, cold-plug, idle: `run-peers.sh all`), `api` (memory at 0/100/1,000
devices: `run-peers.sh bolt devsyncd --phases floor,api`) and `kernel` (`DEVSYNCD_PLUG=kernel run-peers.sh bolt
devsyncd --phases floor,hotplug`). Every ratio is devsyncd / boltd within one run; nothing is compared across runs.

    peer-table.py --run r1-all.json,r1-api.json,r1-kernel.json --run r2-... [--load "0.6-0.9" ...]
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="all.json,api.json,kernel.json")
    parser.add_argument("--load", action="append", default=[], help="the load average of each run, as text")
    arguments = parser.parse_args()
    runs = [row_values(*(figures(path) for path in run.split(","))) for run in arguments.run]
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
    if arguments.load:
        print("\nLoad average (1, 5, 15 min) per run: " + "; ".join(
            f"run {index + 1}: {load}" for index, load in enumerate(arguments.load)))


if __name__ == "__main__":
    main()
