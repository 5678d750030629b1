"""Joyce & Verschelde Figure 1 and Raghu et al. Figure 1: boundaries neuron by
neuron and layer by layer, exactly.

1. ``jv_figure1_walkthrough.png`` -- J&V Figure 1: Algorithm 1 on the
   section-3 network (J&V eq. 38; the extracted "-21 4 19 4" is read as
   -21/4, 19/4) over [0, 1]^2.  One panel per neuron: the neuron's boundary
   (Theorem 2.2: the zero set of its pre-activation given the earlier bits,
   red) and the intersection of the half-spaces selected so far (blue); the
   last panel shows the whole exact partition of [0, 1]^2 with the selected
   region outlined.
2. ``jv_figure1_layers.png`` -- Raghu et al. Figure 1 style: the boundaries
   added by each hidden layer of a 2-input model (default: the embedded
   2-8-8-1 model, ``polyrelu.io.load_default_model()``, over [-10, 10]^2;
   ``--model`` for another file), one panel per layer: the boundaries of
   layers 1..l, those new in layer l in colour
   (``polyrelu.plot.plot_layer_boundaries``).

    python examples/jv_figure1_layers.py [--quick] [--out DIR] [--model FILE]

Reading of the paper's truth assignment v1 = (1, 1), v2 = (1, -1): Algorithm 1
selects G and appends H - G <= 0 when v = +1, i.e. v = +1 means *inactive*
(SPEC), so the assignment is our pattern ((0, 0), (0, 1)).  With the printed
weights both layer-1 neurons are then inactive, the layer-2 pre-activations
are the constants b2 = (-4, 1), and the region is given by layer 1 alone.  The
printed final region (eq. 45) does not follow from the printed weights (SPEC
notes the section-3 example is garbled); it is drawn dashed for comparison and
the script says whether it is one of the exact regions.  The other reading
(v = +1 active, pattern ((1, 1), (1, 0))) is empty on [0, 1]^2, which the
script also reports (the walkthrough itself is examples/jv_worked_example.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from fractions import Fraction

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import polyrelu as pr  # noqa: E402
from polyrelu.commands.plot import draw_layers  # noqa: E402
from polyrelu.numbers import fraction_str  # noqa: E402
from polyrelu.plot.regions import plot_regions  # noqa: E402

# J&V eq. 38; the output layer is not given (it does not affect the regions)
JV_NET = pr.Network.from_weights([([[-4, 1], [-4, -1]], [2, 3]),
                                  ([[-8, 3], ["-21/4", "19/4"]], [-4, 1]),
                                  ([[1, 1]], [0])])
JV_PATTERN = ((0, 0), (0, 1))          # v1 = (1, 1), v2 = (1, -1); v = +1 <=> inactive
OTHER_READING = ((1, 1), (1, 0))
UNIT = pr.Polyhedron.box([0, 0], [1, 1])
PRINTED_45 = ([[4, -1], [4, 1], [-20, 11], [1, -10]], [2, 3, -4, -1])   # A x <= b


def ineq_str(a, b) -> str:
    sign = "-" if a[1] < 0 else "+"
    return f"{fraction_str(a[0])} x {sign} {fraction_str(abs(a[1]))} y <= {fraction_str(b)}"


def clip_line(m, c, lo, hi):
    """Exact end points of {m . x + c = 0} inside the box [lo, hi] (or None)."""
    pts = set()
    for j in (0, 1):
        k = 1 - j
        if m[k] == 0:
            continue
        for t in (lo[j], hi[j]):
            s = -(c + m[j] * t) / m[k]
            if lo[k] <= s <= hi[k]:
                p = [Fraction(0), Fraction(0)]
                p[j], p[k] = t, s
                pts.add(tuple(p))
    pts = sorted(pts)
    return (pts[0], pts[-1]) if len(pts) >= 2 and pts[0] != pts[-1] else None


def zstr(m, c) -> str:
    s = f"{fraction_str(m[0])} x {'-' if m[1] < 0 else '+'} {fraction_str(abs(m[1]))} y"
    return s + f" {'-' if c < 0 else '+'} {fraction_str(abs(c))}"


def algorithm1_steps(net, pattern):
    """Algorithm 1 neuron by neuron: (layer, neuron, bit, m, c, polyhedron so far)."""
    maps = net.layer_maps(pattern)
    A, b = UNIT.inequalities
    rows = list(zip(A, b))
    steps = []
    for l, bits in enumerate(pattern, start=1):
        M, c = maps[l - 1]
        for i, bit in enumerate(bits):
            m, ci = M[i], c[i]
            if any(m):
                # active: z >= 0, i.e. -m.x <= c; inactive: z <= 0, i.e. m.x <= -c
                a, rhs = ((-m[0], -m[1]), ci) if bit else (tuple(m), -ci)
                rows.append((a, rhs))
                what = ineq_str(a, rhs)
            else:
                ok = (ci >= 0) if bit else (ci <= 0)
                what = (f"constant {fraction_str(ci)} on the region: no boundary "
                        f"({'consistent' if ok else 'INCONSISTENT'} with bit {bit})")
            P = pr.Polyhedron.from_inequalities([r[0] for r in rows], [r[1] for r in rows])
            steps.append((l, i, bit, m, ci, P))
            print(f"    layer {l} neuron {i + 1} bit {bit} (J&V v = {-1 if bit else 1:+d}): "
                  f"z = {zstr(m, ci)};  {what};  region so far: dim {P.dim}")
    final = steps[-1][5]
    Ah, bh = final.inequalities
    print("    minimal H-representation (with the box): "
          + "; ".join(ineq_str(a, bb) for a, bb in zip(Ah, bh)))
    print(f"    vertices {[tuple(map(fraction_str, v)) for v in final.vertices]}, "
          f"area {fraction_str(final.volume())}")
    return steps


def draw_row(axes, steps, label):
    from matplotlib.patches import Polygon as MplPolygon

    lo, hi = (Fraction(0), Fraction(0)), (Fraction(1), Fraction(1))
    old = []
    for ax, (l, i, bit, m, ci, P) in zip(axes, steps):
        if P.dim == 2:
            ax.add_patch(MplPolygon(polygon_of(P), closed=True, color="tab:blue", alpha=0.35))
        for seg in old:
            ax.plot(*seg, color="0.55", lw=0.8)
        seg = clip_line(m, ci, lo, hi) if any(m) else None
        if seg:
            xy = ([float(seg[0][0]), float(seg[1][0])], [float(seg[0][1]), float(seg[1][1])])
            ax.plot(*xy, color="red", lw=2)
            old.append(xy)
        ax.set_title(f"{label}\nlayer {l}, neuron {i + 1}: v = {-1 if bit else 1:+d}"
                     + ("" if seg else " (constant)"), fontsize=8)


def walkthrough(out: str, dpi: int) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon as MplPolygon

    net = JV_NET
    regs = list(pr.regions(net, UNIT))
    print("J&V Figure 1: Algorithm 1 on the section-3 network (eq. 38) over [0, 1]^2")
    print(f"  exact partition of [0, 1]^2: {len(regs)} activation regions "
          f"{[r.pattern for r in regs]}")
    print(f"  (a) the paper's v1 = (1, 1), v2 = (1, -1) = our pattern {JV_PATTERN}:")
    steps_a = algorithm1_steps(net, JV_PATTERN)
    other = pr.region_of_pattern(net, OTHER_READING, UNIT, explain=True)
    print(f"    other reading (v = +1 active) {OTHER_READING}: {other.status} "
          f"({other.reason})")
    printed = pr.Polyhedron.from_inequalities(*PRINTED_45).intersect(UNIT)
    same = [r.pattern for r in regs if r.polyhedron.inequalities == printed.inequalities]
    print(f"    printed eq. 45 on [0, 1]^2: dim {printed.dim}"
          + (f", area {fraction_str(printed.volume())}" if printed.dim == 2 else "")
          + f"; equal to an exact region: {same or 'no'}")
    # (b) a region where every neuron cuts: most non-constant neurons, then largest
    def cuts(r):
        return sum(1 for M, _ in r.layer_maps[:-1] for row in M if any(row))
    rb = max(regs, key=lambda r: (cuts(r), r.polyhedron.volume()))
    print(f"  (b) a pattern whose layer-2 neurons also cut: {rb.pattern}")
    steps_b = algorithm1_steps(net, rb.pattern)

    n = len(steps_a) + 1
    fig, axes = plt.subplots(2, n, figsize=(2.5 * n, 5.6))
    draw_row(axes[0], steps_a, f"(a) pattern {JV_PATTERN}")
    draw_row(axes[1], steps_b, f"(b) pattern {rb.pattern}")
    for row, steps, extra in ((0, steps_a, printed), (1, steps_b, None)):
        ax = axes[row][-1]
        plot_regions(regs, ax=ax, color_by="region", linewidth=0.8, title="")
        final = steps[-1][5]
        ax.add_patch(MplPolygon(polygon_of(final), closed=True, fill=False, ec="k",
                                lw=3, label="selected region"))
        if extra is not None and extra.dim == 2:
            ax.add_patch(MplPolygon(polygon_of(extra), closed=True, fill=False,
                                    ec="magenta", ls="--", lw=2, label="printed eq. 45"))
        ax.legend(fontsize=6, loc="upper left")
        ax.set_title(f"all {len(regs)} regions of [0,1]^2", fontsize=8)
    for ax in axes.ravel():
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=6)
        ax.set_xlabel("x", fontsize=7)
    for row in axes:
        row[0].set_ylabel("y", fontsize=7)
    fig.suptitle("J&V Figure 1: Algorithm 1 neuron by neuron (blue: half-spaces selected "
                 "so far; red: the neuron's hyperplane)", fontsize=9)
    fig.tight_layout()
    path = os.path.join(out, "jv_figure1_walkthrough.png")
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    print(f"wrote {path}")


def polygon_of(P):
    """Vertices of a bounded 2-D Polyhedron in angular order (floats, drawing only)."""
    import math

    V = [(float(v[0]), float(v[1])) for v in P.vertices]
    cx, cy = sum(v[0] for v in V) / len(V), sum(v[1] for v in V) / len(V)
    return sorted(V, key=lambda v: math.atan2(v[1] - cy, v[0] - cx))


def layers_figure(model: str | None, box: str, out: str, dpi: int) -> None:
    from polyrelu.commands._common import load_model, parse_box

    net = load_model(model)
    if net.input_dim != 2:
        raise SystemExit(f"--model must have 2 inputs, it has {net.input_dim}")
    lo, hi = parse_box(box, 2)
    D = pr.Polyhedron.box(lo, hi)
    regs = list(pr.regions(net, D))
    print(f"\nRaghu et al. Figure 1 style: {net!r} over {box}")
    for l in range(1, net.num_layers):
        cells = {r.pattern[:l] for r in regs}
        print(f"  after hidden layer {l}: {len(cells)} regions (distinct patterns of "
              f"layers 1..{l} among the {len(regs)} activation regions)")
    path = os.path.join(out, "jv_figure1_layers.png")
    draw_layers(net, D, path, dpi=dpi,
                title=f"boundaries added layer by layer: {net.architecture} on {box}")
    print(f"wrote {path}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="lower resolution (same content)")
    ap.add_argument("--out", default="jv_figure1_out", help="output directory")
    ap.add_argument("--model", default=None, help="2-input model file for the layer "
                    "figure (default: the embedded demo model)")
    ap.add_argument("--box", default="-10,10", help='domain of the layer figure, "lo,hi,..."')
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    dpi = 80 if args.quick else 110
    walkthrough(args.out, dpi)
    layers_figure(args.model, args.box, args.out, dpi)
    return 0


if __name__ == "__main__":
    sys.exit(main())
