#!/usr/bin/python3
"""What age MAE an age-group accuracy needs: the model's own errors, shrunk until the groups are right.

Reads `agegender eval --predictions FILE.csv` (age, expected_age, age_group and p_<group> per face). It
prints the argmax accuracy, the MAE, and the accuracy of binning the expected age; then, for shrink
factors s, the MAE and group accuracy of `age + s * (expected_age - age)` (errors shrunk in years) and of
the same in ln(1 + age) (relative errors shrunk), keeping the model's own error shape: which faces it gets
wrong and by how much, relative to one another. Last, the MAE at which that accuracy reaches --target
(linear between factors). It answers "how much better must the age estimate get for the groups to reach
X %", which a larger head or more epochs cannot answer. Estimates are rounded to whole years before they
are binned, as the labels are whole years.

  accuracy_at_mae.py PREDICTIONS.csv [--target 0.76] [--step 0.05]
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from share_sampling import group_edges, read, true_class  # noqa: E402 (same folder)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("predictions")
    ap.add_argument("--target", type=float, default=0.76, help="age-group accuracy to find the MAE for")
    ap.add_argument("--step", type=float, default=0.05, help="shrink-factor step from 1 down to 0")
    a = ap.parse_args()
    if not 0 < a.target <= 1:
        ap.error(f"--target {a.target}: expected an accuracy in (0, 1]")
    if not 0 < a.step <= 1:
        ap.error(f"--step {a.step}: expected a factor step in (0, 1]")

    if not os.path.isfile(a.predictions):
        print(f"{a.predictions}: no such file (expected agegender eval --predictions output)", file=sys.stderr)
        sys.exit(2)
    groups, probs, rows = read(a.predictions)
    edges = group_edges(groups)
    for key in ("age", "expected_age"):
        if key not in rows[0]:
            sys.exit(f"{a.predictions}: no '{key}' column (written by agegender eval --predictions of an age model)")
    ages = [float(r["age"]) for r in rows]
    est = [float(r["expected_age"]) for r in rows]
    truth = [true_class(x, edges) for x in ages]
    n = len(rows)

    def score(pred):
        mae = sum(abs(p - x) for p, x in zip(pred, ages)) / n
        acc = sum(true_class(math.floor(p + 0.5), edges) == t for p, t in zip(pred, truth)) / n
        return mae, acc

    argmax = sum(max(range(len(groups)), key=p.__getitem__) == t for p, t in zip(probs, truth)) / n
    mae, binned = score(est)
    print(f"{a.predictions}: {n} faces, groups {' '.join(groups)}")
    print(f"argmax accuracy {100 * argmax:.2f} %, MAE {mae:.3f}, expected age binned {100 * binned:.2f} %")
    print(f"{'factor':>6} | {'MAE':>5} {'accuracy':>9} (years) | {'MAE':>5} {'accuracy':>9} (ln(1 + age))")
    curves = ([], [])
    steps = int(round(1 / a.step))
    for i in range(steps + 1):
        s = max(0.0, 1 - i * a.step)
        years = [x + s * (p - x) for p, x in zip(est, ages)]
        logs = [math.expm1(math.log1p(x) + s * (math.log1p(max(p, 0.0)) - math.log1p(x))) for p, x in zip(est, ages)]
        for curve, pred in zip(curves, (years, logs)):
            curve.append(score(pred))
        (m1, a1), (m2, a2) = curves[0][-1], curves[1][-1]
        print(f"{s:6.2f} | {m1:5.2f} {100 * a1:8.2f} % | {m2:5.2f} {100 * a2:8.2f} %")
    for name, curve in zip(("years", "ln(1 + age)"), curves):
        hit = next((k for k, (_, acc) in enumerate(curve) if acc >= a.target), None)
        if hit is None:
            print(f"{name}: {100 * a.target:.2f} % not reached even with no error")
        elif hit == 0:
            print(f"{name}: already at or above {100 * a.target:.2f} % (binned expected age)")
        else:
            (m0, c0), (m1, c1) = curve[hit - 1], curve[hit]
            need = m0 + (m1 - m0) * (a.target - c0) / (c1 - c0) if c1 != c0 else m1
            print(f"{name}: {100 * a.target:.2f} % binned needs MAE <= {need:.2f} (now {mae:.2f})")


if __name__ == "__main__":
    main()
