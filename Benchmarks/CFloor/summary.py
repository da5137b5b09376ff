#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The memory rows of docs/benchmarks.md from the peer harness's JSON (`--phases api`): for each peer, RSS and
PSS at 0, 100 and 1,000 devices, anonymous memory per device (0 -> 1,000), and each figure's ratio to a
reference peer (boltd unless --against names another).

    Benchmarks/CFloor/summary.py .build/cfloor/peers-*.json [--against cfloor]
"""
import argparse
import json
import sys


def memory(results):
    """{peer: {n: smaps fields of the peer's first process (the daemon; usbguard's bridge comes second)}}."""
    out = {}
    for r in results:
        fig = r['figure']
        if not (fig.startswith('api.n') and '.smaps_kib.' in fig):
            continue
        n = int(fig.split('.')[1][1:])
        out.setdefault(r['peer'], {}).setdefault(n, r)
    return out


def rows(mem):
    table = {}
    for peer, by_n in mem.items():
        row = {}
        for n in (0, 100, 1000):
            if n in by_n:
                row['rss%d' % n] = by_n[n]['rss'] / 1024
                row['pss%d' % n] = by_n[n]['pss'] / 1024
                row['file_pss%d' % n] = (by_n[n].get('pss_file') or 0) / 1024
        if 0 in by_n and 1000 in by_n:
            row['anon_per_device'] = (by_n[1000]['anonymous'] - by_n[0]['anonymous']) / 1000
        table[peer] = row
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('json', nargs='+')
    ap.add_argument('--against', default='bolt')
    args = ap.parse_args()
    labels = [('rss0', 'RSS 0 (MiB)'), ('rss100', 'RSS 100'), ('rss1000', 'RSS 1,000'), ('pss0', 'PSS 0'),
              ('pss100', 'PSS 100'), ('pss1000', 'PSS 1,000'), ('file_pss100', 'file PSS 100'),
              ('anon_per_device', 'anon/device (KiB)')]
    for path in args.json:
        with open(path) as f:
            data = json.load(f)
        table = rows(memory(data['results']))
        ref = table.get(args.against, {})
        print(path)
        print('  %-10s' % 'peer' + ''.join(' %18s' % l for _, l in labels))
        for peer, row in table.items():
            cells = []
            for key, _ in labels:
                v = row.get(key)
                if v is None:
                    cells.append(' %18s' % '-')
                elif peer != args.against and ref.get(key):
                    cells.append(' %18s' % ('%.2f (%.2fx)' % (v, v / ref[key])))
                else:
                    cells.append(' %18s' % ('%.2f' % v))
            print('  %-10s' % peer + ''.join(cells))
    return 0


if __name__ == '__main__':
    sys.exit(main())
