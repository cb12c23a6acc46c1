#!/usr/bin/python3
"""How far a day's age-group shares land from the truth when the day has only N people.

Reads `agegender eval --predictions FILE.csv` (one row per face with every class's probability, p_<group>)
and draws many days of N faces without replacement. For each day it compares the true age-group shares
with the argmax shares and the expected shares (mean probabilities, what visitors' summary.json calls
age_share_expected) and prints the total variation's quantiles and the share of days within a bound,
and how far the female share lands from the true one: counted (P(female) >= 0.5), expected (mean P(female),
summary.json's gender_share_expected) and, with --run, calibrated by the run's gender_share_weights.
This separates what a model gets wrong on average (the whole set's TV) from what a 300-person day adds
by chance. With --run RUN the expected shares are also computed with the run's age- and gender-share
calibrations (summary.json's age_share_weights and gender_share_weights), as visitors computes them.

  share_sampling.py PREDICTIONS.csv [--run RUN] [--people 300] [--days 2000] [--bound 0.06]
                    [--female-bound 0.02] [--seed 1]
"""
import argparse
import csv
import json
import os
import random
import sys


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{path}: no rows")
    groups = [k[2:] for k in rows[0] if k.startswith("p_")]
    if not groups:
        sys.exit(f"{path}: no p_<group> columns (written by agegender eval --predictions)")
    probs = [[float(r["p_" + g]) for g in groups] for r in rows]
    return groups, probs, rows


def true_class(age, edges):
    k = 0
    while k < len(edges) and age >= edges[k]:
        k += 1
    return k


def tv(a, b):
    return 0.5 * sum(abs(x - y) for x, y in zip(a, b))


def group_edges(groups):
    # "0-2", "3-12", ..., "60+": each group's lower bound after the first is an edge.
    return [int(g.split("-")[0].rstrip("+")) for g in groups[1:]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("predictions")
    ap.add_argument("--run", help="run directory whose summary.json holds age_share_weights and/or gender_share_weights")
    ap.add_argument("--people", type=int, default=300)
    ap.add_argument("--days", type=int, default=2000)
    ap.add_argument("--bound", type=float, default=0.06)
    ap.add_argument("--female-bound", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    groups, probs, rows = read(a.predictions)
    try:
        edges = group_edges(groups)
    except ValueError:
        sys.exit(f"{a.predictions}: age groups {groups} are not LOW-HIGH / LOW+ names")
    k = len(groups)
    truth = [true_class(int(r["age"]), edges) for r in rows]
    argmax = [max(range(k), key=lambda c: p[c]) for p in probs]
    calibrated = None
    gender_weights = None
    if a.run:
        path = os.path.join(a.run, "summary.json")
        try:
            summary = json.load(open(path))
        except (OSError, ValueError) as e:
            sys.exit(f"{path}: cannot read ({e})")
        if "age_share_weights" not in summary and "gender_share_weights" not in summary:
            sys.exit(f"{path}: holds neither age_share_weights nor gender_share_weights")
        if "age_share_weights" in summary:
            try:
                w = [float(summary["age_share_weights"][g]) for g in groups]
            except (ValueError, KeyError, TypeError) as e:
                sys.exit(f"{path}: no age_share_weights for groups {groups} ({e})")
            calibrated = []
            for p in probs:
                q = [x * wc for x, wc in zip(p, w)]
                calibrated.append([x / sum(q) for x in q])
        if "gender_share_weights" in summary:
            try:
                gender_weights = (float(summary["gender_share_weights"]["male"]), float(summary["gender_share_weights"]["female"]))
            except (ValueError, KeyError, TypeError) as e:
                sys.exit(f"{path}: gender_share_weights is not {{\"male\": w, \"female\": w}} ({e})")
    if a.people > len(rows):
        sys.exit(f"--people {a.people}: the file has only {len(rows)} faces")
    rng = random.Random(a.seed)

    def shares(day):
        t, m, e, q = [0.0] * k, [0.0] * k, [0.0] * k, [0.0] * k
        for i in day:
            t[truth[i]] += 1
            m[argmax[i]] += 1
            for c in range(k):
                e[c] += probs[i][c]
                if calibrated:
                    q[c] += calibrated[i][c]
        n = float(len(day))
        return [x / n for x in t], [x / n for x in m], [x / n for x in e], [x / n for x in q]

    everyone = list(range(len(rows)))
    t, m, e, q = shares(everyone)
    print(f"{a.predictions}: {len(rows)} faces, groups {', '.join(groups)}")
    print(f"whole set: TV argmax {tv(m, t):.3f}, expected {tv(e, t):.3f}" +
          (f", calibrated {tv(q, t):.3f}" if calibrated else ""))
    # The female share: counted (P(female) >= 0.5) against the true share, in points, on the same days.
    has_gender = all(r.get("female_prob") not in (None, "") for r in rows)
    p_female = [float(r["female_prob"]) if has_gender else 0.0 for r in rows]
    is_female = [r["gender"] == "1" for r in rows]
    # Per face, what each female-share estimate adds up: the counted answer, P(female), the calibrated P.
    estimates = {"counted": [float(p >= 0.5) for p in p_female], "expected": p_female}
    if gender_weights:
        wm, wf = gender_weights
        estimates["calibrated"] = [p * wf / (p * wf + (1 - p) * wm) for p in p_female]
    tv_m, tv_e, tv_q = [], [], []
    miss = {name: [] for name in estimates}
    for _ in range(a.days):
        day = rng.sample(everyone, a.people)
        t, m, e, q = shares(day)
        tv_m.append(tv(m, t))
        tv_e.append(tv(e, t))
        tv_q.append(tv(q, t))
        true_female = sum(is_female[i] for i in day)
        for name, per_face in estimates.items():
            miss[name].append(abs(sum(per_face[i] for i in day) - true_female) / a.people)
    if has_gender:
        for name, v in miss.items():
            within = sum(x <= a.female_bound for x in v) / len(v)
            print(f"days of {a.people}: female share {name:10s} off by {100 * sorted(v)[len(v) // 2]:.1f} points (median), "
                  f"within {100 * a.female_bound:.0f} points: {100 * within:.1f} % of {a.days} days")
    for name, v in (("argmax", tv_m), ("expected", tv_e)) + ((("calibrated", tv_q),) if calibrated else ()):
        v.sort()
        q = lambda f: v[min(len(v) - 1, int(f * len(v)))]
        within = sum(x <= a.bound for x in v) / len(v)
        print(f"days of {a.people}: TV {name:10s} median {q(0.5):.3f}, 10-90 % {q(0.1):.3f}-{q(0.9):.3f}, "
              f"within {a.bound}: {100 * within:.1f} % of {a.days} days")


if __name__ == "__main__":
    main()
