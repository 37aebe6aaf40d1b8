#!/usr/bin/env python3
"""Ratios of orgadm (criterion, benches/gost.rs) to OpenSSL's GOST engine (gost_speed.c).

Usage: compare.py GOST_SPEED_OUTPUT [CRITERION_DIR]   (CRITERION_DIR defaults to target/criterion)

For our side it reads criterion's own files: the mean (estimates.json) and the best sample
(sample.json: the lowest time per iteration over criterion's samples, the counterpart of the
engine's best batch). Ratio = engine time / our time, so above 1 we are faster; it is given
mean-to-mean and best-to-best.
"""
import glob
import json
import os
import re
import sys


def ours(crit_dir):
    out = {}
    for bj in glob.glob(os.path.join(crit_dir, "**", "new", "benchmark.json"), recursive=True):
        d = os.path.dirname(bj)
        with open(bj) as f:
            full_id = json.load(f)["full_id"]
        with open(os.path.join(d, "estimates.json")) as f:
            mean = json.load(f)["mean"]["point_estimate"] / 1000.0
        with open(os.path.join(d, "sample.json")) as f:
            s = json.load(f)
        best = min(t / i for t, i in zip(s["times"], s["iters"])) / 1000.0
        out[full_id] = (mean, best)
    return out


def engine(path):
    sig, md = {}, {}
    pat = re.compile(
        r"^(\d{3} TC26 [A-D])\S*.*?sign\s+([\d.]+) us \(best\)\s+([\d.]+) us \(mean\).*?"
        r"verify\s+([\d.]+) us \(best\)\s+([\d.]+) us \(mean\)"
    )
    with open(path) as f:
        for line in f:
            m = pat.match(line)
            if m:
                b = [float(x) for x in m.groups()[1:]]
                sig[m.group(1)] = {"sign": (b[1], b[0]), "verify": (b[3], b[2])}
            m = re.match(r"^(md_gost12_\d+)\s+([\d.]+) MB/s \(8 KiB buffers, best batch\)\s+([\d.]+) MB/s", line)
            if m:
                md[m.group(1)] = (float(m.group(3)), float(m.group(2)))
    return sig, md


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    crit = sys.argv[2] if len(sys.argv) > 2 else "target/criterion"
    o = ours(crit)
    sig, md = engine(sys.argv[1])
    print("| set | op | engine µs mean / best | ours µs mean / best | ratio mean | ratio best |")
    print("| --- | --- | --- | --- | --- | --- |")
    for full_id in sorted(o):
        m = re.match(r"gost3410/(sign|verify)/(\d{3} TC26 [A-D])", full_id)
        if not m or m.group(2) not in sig:
            continue
        op, ps = m.group(1), m.group(2)
        em, eb = sig[ps][op]
        om, ob = o[full_id]
        print(f"| {ps} | {op} | {em:.1f} / {eb:.1f} | {om:.1f} / {ob:.1f} | {em / om:.2f} | {eb / ob:.2f} |")
    for full_id in sorted(o):
        m = re.match(r"streebog (.*)/(256|512)$", full_id)
        if m:
            om, ob = o[full_id]
            size = 8192 if m.group(1) == "8 KiB" else 1 << 20
            name = f"md_gost12_{m.group(2)}"
            em, eb = md.get(name, (float("nan"), float("nan")))
            print(f"streebog-{m.group(2)} over {m.group(1)}: ours {size / om:.1f} / {size / ob:.1f} MB/s "
                  f"(mean / best); engine (8 KiB) {em:.1f} / {eb:.1f} MB/s; ratio mean "
                  f"{size / om / em:.2f}, best {size / ob / eb:.2f}")


if __name__ == "__main__":
    main()
