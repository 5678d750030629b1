"""Joyce & Verschelde, section 3: the worked example of Algorithm 1, exactly.

The network of J&V eq. 38 (2 inputs, two hidden layers of 2 ReLUs; the paper
leaves the output layer unspecified -- it does not affect the regions -- so we
use ``y = nu_1 + nu_2``) is run through the F/G/H recurrence (J&V Prop. 2.1,
eq. 14) for the paper's truth assignment ``v1 = (1, 1)``, ``v2 = (1, -1)``.

The printed example (eqs. 39-45) is not consistent with its own weights or
with Algorithm 1's sign convention (v = +1 = inactive: take G, append
H - G <= 0).  The script therefore derives everything from the definitions,
checks it by exact evaluation, prints the paper's numbers beside ours and says
where they differ:

* reading A: the assignment as Algorithm 1 defines it (v = +1 = inactive),
  i.e. our pattern ((0, 0), (0, 1));
* reading B: the reading the printed layer-2 numbers actually follow
  (v = +1 = active), i.e. our pattern ((1, 1), (1, 0)).

Usage: python examples/jv_worked_example.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from fractions import Fraction as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from polyrelu.network import Network  # noqa: E402
from polyrelu.numbers import fraction_str  # noqa: E402
from polyrelu.polyhedron import Polyhedron  # noqa: E402
from polyrelu.tropical import (  # noqa: E402
    fgh_recurrence,
    paper_signs,
    pattern_from_signs,
    region_inequalities,
    region_polyhedron,
    tropical_form,
)

# J&V eq. 38 (the "-21 4 19 4" of the extracted text is -21/4, 19/4).
A1, B1 = [[-4, 1], [-4, -1]], [2, 3]
A2, B2 = [[-8, 3], ["-21/4", "19/4"]], [-4, 1]
OUT_W, OUT_B = [[1, 1]], [0]          # not given in the paper (irrelevant to regions)
PAPER_V = ((1, 1), (1, -1))           # the paper's truth assignment v1, v2

# What the paper prints (eqs. 39-45), transcribed for comparison only.
PRINTED = {
    "G1_A": [[4, 0], [4, 1]], "g1_b": [0, 0], "H1_A": [[0, 1], [0, 0]], "h1_b": [2, 3],
    "F1_A": [[4, 0], [4, 1]], "f1_b": [0, 0],
    "G2_A": [[12, 11], [19, 10]], "g2_b": [16, "21/2"],
    "H2_A": [[32, 0], [21, 0]], "h2_b": [12, "23/2"],
    "F2_A": [[32, 0], [19, 10]], "f2_b": [12, "21/2"],
}
# eq. 45, the final printed region, as A x <= b
PRINTED_REGION = ([[4, -1], [4, 1], [-20, 11], [1, -10]], [2, 3, -4, -1])


def fs(x) -> str:
    return fraction_str(F(x))


def mat_str(M) -> str:
    return "[" + "; ".join(" ".join(f"{fs(v):>5}" for v in row) for row in M) + "]"


def vec_str(v) -> str:
    return "[" + " ".join(f"{fs(x):>5}" for x in v) + "]"


def ineq_str(a, b) -> str:
    terms = []
    for c, n in zip(a, ("x", "y")):
        if c == 0:
            continue
        s = "-" if c < 0 else "+"
        mag = "" if abs(c) == 1 else fs(abs(c))
        terms.append(f"{s} {mag}{n}")
    lhs = " ".join(terms).lstrip("+ ") if terms else "0"
    if lhs.startswith("- "):
        lhs = "-" + lhs[2:]
    return f"{lhs} <= {fs(b)}"


def as_fr(x):
    if isinstance(x, (list, tuple)):
        return tuple(as_fr(v) for v in x)
    return F(x)


def show_layers(recs, compare: set, notes: list) -> dict:
    out = {}
    for rec in recs[:-1]:
        l = rec.layer
        print(f"  layer {l}: our bits {rec.bits}  (J&V v = {rec.paper_signs})")
        for name in ("G_A", "g_b", "H_A", "h_b", "F_A", "f_b"):
            val = getattr(rec, name)
            key = f"{name[0]}{l}_{name[2]}"
            text = mat_str(val) if name.endswith("A") else vec_str(val)
            line = f"    {name[0]}{l}_{name[2]} = {text}"
            if key in compare:
                printed = as_fr(PRINTED[key])
                if printed == val:
                    line += "   (= printed)"
                else:
                    shown = mat_str(printed) if name.endswith("A") else vec_str(printed)
                    line += f"   printed {shown}  <- differs"
                    notes.append(f"{key}: printed {shown}, derived {text}")
            print(line)
            out[key] = [[fs(v) for v in row] for row in val] if name.endswith("A") \
                else [fs(v) for v in val]
        M, c = rec.pre_activation
        print(f"    z{l} = (H - G) x + (h - g):  {mat_str(M)} x + {vec_str(c)}")
    return out


def check(net, pattern, recs) -> list[str]:
    """Independent exact checks; returns the lines to print."""
    lines = []
    maps = net.layer_maps(pattern)
    ok = all(r.pre_activation == m for r, m in zip(recs, maps))
    lines.append(f"H - G == the network's own pre-activation maps, every layer: {ok}")
    assert ok
    P = region_polyhedron(net, pattern)
    if P.is_empty():
        lines.append("region: EMPTY (exact)")
        return lines
    x = P.interior_point()
    full = P.is_full_dimensional()
    lines.append(f"region: dimension {P.dim}, interior point {vec_str(x)}")
    if full:
        assert net.pattern(x) == pattern
        M, c = net.affine_map(pattern)
        val = tuple(sum((a * xi for a, xi in zip(row, x)), ci) for row, ci in zip(M, c))
        assert val == net(x)
        lines.append(f"net.pattern(point) == pattern: True; net(point) = {fs(net(x)[0])} "
                     f"== affine map of the region: True")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the box survey")
    ap.add_argument("--out", default=None, help="directory for derived.json")
    args = ap.parse_args(argv)

    net = Network.from_weights([(A1, B1), (A2, B2), (OUT_W, OUT_B)])
    print(f"J&V eq. 38 network: {net}")
    print(f"  A1 = {mat_str(net.layers[0].W)}  b1 = {vec_str(net.layers[0].b)}")
    print(f"  A2 = {mat_str(net.layers[1].W)}  b2 = {vec_str(net.layers[1].b)}")
    print(f"  output (our choice, not in the paper): {mat_str(net.layers[2].W)} "
          f"+ {vec_str(net.layers[2].b)}")
    print("Sign conventions: polyrelu bit 1 = active (z >= 0, F takes H);"
          " J&V v = +1 = inactive (F takes G, append H - G <= 0); v = 1 - 2*bit.")
    notes: list[str] = []
    derived = {}

    # ---------------------------------------------------------- reading A
    pat_a = pattern_from_signs(PAPER_V)
    print(f"\n[A] the paper's assignment v = {PAPER_V} read as Algorithm 1 defines it"
          f" -> our pattern {pat_a}")
    recs_a = fgh_recurrence(net, pat_a)
    # The paper states this reading for layer 1 (eqs. 39-40); compare those.
    cmp_a = {"G1_A", "g1_b", "H1_A", "h1_b", "F1_A", "f1_b"}
    derived["reading_A"] = {"pattern": pat_a, "layers": show_layers(recs_a, cmp_a, notes)}
    print("  region inequalities (J&V Thm 2.2, A x <= b):")
    ineqs = []
    for l, (A, b) in enumerate(region_inequalities(net, pat_a), start=1):
        for a, bi in zip(A, b):
            print(f"    layer {l}: {ineq_str(a, bi)}")
            ineqs.append([l, [fs(v) for v in a], fs(bi)])
    derived["reading_A"]["inequalities"] = ineqs
    for line in check(net, pat_a, recs_a):
        print("  " + line)
    print("  Both layer-1 neurons are off, so nu1 = 0 and z2 = b2 = (-4, 1) is constant:"
          " the layer-2 rows are 0 <= 4 and 0 <= 1 (always true).")
    print("  (The printed layer-2 numbers, eqs. 42-43, do not belong to this reading;"
          " they are compared under [B].)")

    # ---------------------------------------------------------- reading B
    pat_b = pattern_from_signs(tuple(tuple(-v for v in layer) for layer in PAPER_V))
    print(f"\n[B] the reading the printed layer-2 numbers follow (v = +1 = active)"
          f" -> our pattern {pat_b}")
    recs_b = fgh_recurrence(net, pat_b)
    # The printed layer-2 numbers (eqs. 42-43) follow this reading; compare them.
    cmp_b = {"G2_A", "g2_b", "H2_A", "h2_b", "F2_A", "f2_b"}
    derived["reading_B"] = {"pattern": pat_b, "layers": show_layers(recs_b, cmp_b, notes)}
    print("  region inequalities (A x <= b):")
    ineqs = []
    for l, (A, b) in enumerate(region_inequalities(net, pat_b), start=1):
        for a, bi in zip(A, b):
            print(f"    layer {l}: {ineq_str(a, bi)}")
            ineqs.append([l, [fs(v) for v in a], fs(bi)])
    derived["reading_B"]["inequalities"] = ineqs
    for line in check(net, pat_b, recs_b):
        print("  " + line)
    cert = region_polyhedron(net, pat_b).certify_empty()
    rows = [(a, bi) for A, b in region_inequalities(net, pat_b) for a, bi in zip(A, b)]
    assert all(y >= 0 for y in cert)
    assert all(sum(y * a[j] for y, (a, _) in zip(cert, rows)) == 0 for j in range(2))
    assert sum(y * bi for y, (_, bi) in zip(cert, rows)) < 0   # checked exactly here
    print(f"  emptiness certificate (Farkas multipliers y >= 0, y A = 0, y b < 0): "
          f"{vec_str(cert)}")

    # ---------------------------------------------------------- printed region
    A, b = PRINTED_REGION
    Pp = Polyhedron.from_inequalities(A, b)
    print("\n[printed eq. 45] {" + ", ".join(ineq_str(a, bi) for a, bi in zip(A, b)) + "}")
    print(f"  is a nonempty polygon with vertices {[vec_str(v) for v in Pp.vertices]}")
    pats = {}
    V = Pp.vertices
    cen = tuple(sum(v[i] for v in V) / len(V) for i in range(2))
    pts = [cen] + [tuple((3 * v[i] + cen[i]) / 4 for i in range(2)) for v in V]
    for x in pts:
        pats.setdefault(net.pattern(x), x)
    print("  patterns of the network at its centroid and near its vertices: "
          + ", ".join(f"{p} (J&V v = {paper_signs(p)})" for p in pats))
    print("  so eq. 45 is not the region of the assignment under either reading; "
          "its layer-2 rows do not follow from eq. 38 (see the differences above).")

    # ---------------------------------------------------------- summary
    # The notes below quote derived numbers; check them against the derivation
    # so that they cannot drift from what the code computes.
    (A1a, b1a), (A2a, b2a) = region_inequalities(net, pat_a)
    assert (A1a, b1a) == (as_fr([[-4, 1], [-4, -1]]), as_fr([-2, -3]))    # 4x-y>=2, 4x+y>=3
    assert all(v == 0 for row in A2a for v in row) and b2a == as_fr([4, 1])
    (_, _), (A2b, b2b) = region_inequalities(net, pat_b)
    assert recs_b[1].h_b == as_fr([5, "61/4"]) and b2b == as_fr([-11, "-19/4"])
    assert A2b[1] == as_fr([2, -10])
    assert recs_b[1].G_A == as_fr(PRINTED["G2_A"]) and recs_b[1].H_A == as_fr(PRINTED["H2_A"])
    assert recs_b[1].g_b == as_fr(PRINTED["g2_b"])
    assert all(getattr(recs_a[0], k) == as_fr(PRINTED[f"{k[0]}1_{k[2]}"])
               for k in ("G_A", "g_b", "H_A", "h_b", "F_A", "f_b"))
    print("\nWhere the printed example differs from the stated weights:")
    notes += [
        "eqs. 39-40 (layer 1, reading A) agree with the derivation",
        "eq. 40 prints F1 = G1 (v1 = +1 -> G, as Algorithm 1 says), but eq. 42 is "
        "computed with F1 = H1, f1 = h1 (layer 1 active): its G2_A, g2_b, H2_A match "
        "reading B exactly",
        "eq. 41 prints (G1 - H1) x + (g1 - h1) <= 0, the opposite sign of Algorithm 1 "
        "line 14 (H - G <= 0 for v = +1)",
        "eq. 42 h2_b = [12 23/2] equals g2_b + b2; from eq. 14 it is A2+ f1 + A2- g1 + "
        "b2 = [5 61/4] (reading B)",
        "eq. 43 takes row 1 from H2 and row 2 from G2 for v2 = (1, -1), the opposite "
        "of Algorithm 1",
        "eq. 44 therefore has constants -4 and -1 where eq. 14 gives -11 and -19/4",
        "eq. 45 writes x - 10y <= -1 where eq. 44 gives 2x - 10y <= -1",
    ]
    for n in notes:
        print("  - " + n)
    print("Derived from the definitions (J&V Alg. 1 convention): the assignment's region "
          "is {4x - y >= 2, 4x + y >= 3} (unbounded; layer 2 adds no constraint); "
          "under reading B the region is empty.")

    # ---------------------------------------------------------- survey of [0, 1]^2
    if not args.quick:
        box = Polyhedron.box([0, 0], [1, 1])
        print("\nActivation regions in the box [0, 1]^2 of J&V Fig. 1 (all 16 patterns):")
        total = F(0)
        for bits in range(16):
            p = (((bits >> 3) & 1, (bits >> 2) & 1), ((bits >> 1) & 1, bits & 1))
            P = region_polyhedron(net, p, box)
            if P.is_full_dimensional():
                vol = P.volume()
                total += vol
                print(f"  {p}  (J&V v = {paper_signs(p)})  area {fs(vol)}")
        print(f"  areas sum to {fs(total)} (the box has area 1)")
        assert total == 1

    # ---------------------------------------------------------- tropical form
    (nu,) = tropical_form(net)
    print("\nWhole network as a tropical rational function (pruned), y = F - G:")
    print(f"  F = {nu.F.to_str(['x', 'y'])}")
    print(f"  G = {nu.G.to_str(['x', 'y'])}")
    for x in ([0, 0], [1, 0], ["1/2", "1/3"], [-2, 5]):
        assert nu(x) == net(x)[0]
    print("  F(x) - G(x) == net(x) exactly at (0,0), (1,0), (1/2,1/3), (-2,5): True")
    derived["tropical_form"] = {"F": nu.F.to_str(["x", "y"]), "G": nu.G.to_str(["x", "y"])}

    if args.out:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "jv_worked_example.json")
        with open(path, "w") as fh:
            json.dump(derived, fh, indent=1)
        print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
