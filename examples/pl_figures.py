"""Phuong & Lampert (ICLR 2020): fold sets, canonical surfaces, identifiability.

Reproduces the paper's Figures 1-4 with exact fold sets of small 2-input
networks, and demonstrates Theorem 1 layer by layer: on a network built as in
Lemma A.17 (checked to be general and transparent), each layer's weights are
recovered (up to permutation and positive scaling, checked by exact
proportionality) from the fold set of the function alone, then the argument
is repeated on the truncated network.  For every layer the statement of
Lemma A.17 is checked exactly on int Z_(l-1), the interior of the image of
the domain (fold_surface_on_image), not only on a convex part of it.

    python examples/pl_figures.py [--quick] [--out DIR]

Notes on the reproductions (the paper's figures are schematic drawings, so
ours are real networks with the same features):

* Figure 1: a general transparent 2-3-3-2-1 network on [-3, 3]^2; folds
  coloured by the layer of the unit that makes them (blue, orange, black) and
  as a bare set.
* Figure 2: a general transparent network whose folds are all full lines
  although they come from three different layers: from the set alone every
  fold is order 1, and the layer of each is reported as ambiguous (1..3)
  rather than guessed.
* Figure 3: the canonical ("greedy") order of Figure 1's fold set.  As the
  paper remarks, it need not equal the true layer.
* Figure 4: the canonical representation and its dependency graph.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")

import polyrelu as pr  # noqa: E402
from polyrelu.folds import (  # noqa: E402
    construct_identifiable_network,
    fold_set,
    fold_surface,
    fold_surface_on_image,
    hyperplane_str,
    identify_first_layer,
    is_general,
    is_transparent,
    match_layer,
)
from polyrelu.network import random_network  # noqa: E402
from polyrelu.numbers import fraction_str  # noqa: E402
from polyrelu.plot.folds import pl_figure1, pl_figure2, pl_figure3, pl_figure4  # noqa: E402

BOX = pr.Polyhedron.box([-1, -1], [1, 1])
# Found by scanning random_network([2, 3, 3, 2, 1], seed, denominator=16, scale=16)
# for general transparent networks (both re-checked below):
FIG1_SEED, FIG1_BOX = 391, pr.Polyhedron.box([-3, -3], [3, 3])   # folds from 3 layers
FIG2_SEED, FIG2_BOX = 816, BOX     # every fold a full line, from layers 1, 2 and 3


def fig_net(seed):
    return random_network([2, 3, 3, 2, 1], seed=seed, denominator=16, scale=16)


def fmt(v):
    return "(" + ", ".join(fraction_str(x) for x in v) + ")"


def save(fig, out, name):
    path = os.path.join(out, name)
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    print(f"  wrote {path}")


def describe(S, lam):
    for layer in S.layers:
        for H in layer:
            lo, hi = S.layer_bounds(lam)[H.name]
            rng = f"layer {lo}" if lo == hi else f"layer {lo}..{hi} (ambiguous)"
            print(f"    {H.name}: {hyperplane_str(H.hyperplane):34s} {len(H.pieces)} piece(s)"
                  f"  -> {rng}")


def figures(out, quick):
    net1, D1 = fig_net(FIG1_SEED), FIG1_BOX
    print(f"Figure 1/3/4 network: random_network([2, 3, 3, 2, 1], seed={FIG1_SEED}, "
          f"denominator=16, scale=16) on [-3, 3]^2")
    print(f"  transparent: {bool(is_transparent(net1, D1))}")
    if not quick:
        rep = is_general(net1, D1)
        print(f"  general: {rep.general} ("
              + "; ".join(f"condition {c.condition}: {c.holds}" for c in rep.conditions) + ")")
    fs = fold_set(net1, D1)
    S1 = fold_surface(net1, D1)
    print(f"  fold set: {len(fs)} pieces on {len(fs.hyperplanes())} lines, "
          f"{fs.num_regions} activation regions")
    print(f"  canonical surface: {S1}; pieces per order and Lemma 3 layer range:")
    describe(S1, net1.num_layers - 1)
    G = S1.dependency_graph()
    print(f"  dependency graph: {G.number_of_nodes()} nodes, {G.number_of_edges()} edges")
    save(pl_figure1(net1, D1), out, "figure1_fold_set.png")
    save(pl_figure3(net1, D1), out, "figure3_canonical_order.png")
    save(pl_figure4(S1), out, "figure4_dependency_graph.png")
    S1.write_graphml(os.path.join(out, "figure4_dependency_graph.graphml"))

    net2, D2 = fig_net(FIG2_SEED), FIG2_BOX
    S2 = fold_surface(net2, D2)
    U = pr.unit_fold_sets(net2, D2)
    layers = sorted({u[0] for p, us in U.labels.items() if U.folds[p] for u in us})
    print(f"Figure 2 network: random_network([2, 3, 3, 2, 1], seed={FIG2_SEED}, "
          f"denominator=16, scale=16) on [-1, 1]^2; its folds come from layers {layers}")
    if not quick:
        print(f"  general: {is_general(net2, D2).general}, transparent: "
              f"{bool(is_transparent(net2, D2))}")
    print(f"  from the set alone: {S2}; ambiguous: {', '.join(S2.ambiguous(3)) or 'none'}")
    describe(S2, 3)
    ident = identify_first_layer(S2, 3, num_layers=4)
    print(f"  identify_first_layer: identified={ident.identified}: {ident.reason}")
    save(pl_figure2(net2, D2), out, "figure2_ambiguous.png")


def identify_layer_by_layer(out, quick):
    widths = [2, 2, 2, 1] if quick else [2, 2, 2, 2, 1]
    t0 = time.time()
    res = construct_identifiable_network(widths, BOX, seed=0)
    net = res.network
    L = net.num_layers
    print(f"Lemma A.17 network {net.architecture} (exact rationals, {res.attempts} draw(s), "
          f"{time.time() - t0:.1f} s); transparent: {bool(is_transparent(net, BOX))}")
    rep = is_general(net, BOX)          # re-decided here, not taken from the construction
    print(f"  general: {rep.general} ("
          + "; ".join(f"condition {c.condition}: {c.holds}" for c in rep.conditions) + ")")
    if not rep.general:
        return False
    current, domain = net, BOX
    for l in range(1, L):
        # the statement of Lemma A.17 itself, on int Z_(l-1) = int h^(1:l-1)(X)
        SZ = fold_surface_on_image(net, BOX, l)
        nz = sum(1 for m in SZ.longest_paths().values() if m >= L - 1 - l)
        print(f" Lemma A.17, l = {l}: F(h^({l}:{L}) | int Z_{l - 1}) = {SZ}: {nz} directed "
              f"paths of length {L - 1 - l} with distinct starts (d_{l} = {net.widths[l]})")
        if not SZ.is_surface or nz < net.widths[l]:
            return False
        S = fold_surface(current, domain)
        width = current.widths[1]
        ident = identify_first_layer(S, width, num_layers=L - l + 1)
        lp = S.longest_paths()
        print(f" layer {l}: surface {S}, chains of length {L - 1 - l} start at "
              f"{sorted(v for v, m in lp.items() if m >= L - 1 - l)}")
        if not ident.identified or not ident.oriented:
            print(f"  could not identify layer {l}: {ident.reason or 'orientation unknown'}")
            return False
        W, b = current.layers[0].W, current.layers[0].b
        match = match_layer(ident, W, b)
        if match is None:
            print(f"  layer {l}: recovered hyperplanes do not match the weights")
            return False
        perm, scales = match
        for i, (j, s) in enumerate(zip(perm, scales)):
            w, c = ident.hyperplanes[j]
            print(f"  unit {i}: W[{i}], b[{i}] = {fraction_str(s)} * recovered[{j}] = "
                  f"{fraction_str(s)} * ({fmt(w)}, {fraction_str(c)})")
        assert all(s > 0 for s in scales)
        fig = pl_figure4(S)
        fig.axes[0].set_aspect("auto")      # the image domains are thin slivers
        fig.suptitle(f"Layer {l}: fold surface of the truncated network h^({l}:{L}) "
                     f"and its dependency graph", fontsize=11)
        save(fig, out, f"identify_layer{l}.png")
        # The truncated network h^{l+1:L} in the recovered coordinates
        # y~ = W~ x + b~ on the image of the all-active region (P&L eq. 17):
        Wr, br = ident.W, ident.b
        Q = domain
        for w, c in zip(Wr, br):
            Q = Q.add_inequality(tuple(-x for x in w), c)
        new_domain = Q.affine_image(Wr, br)
        (Wn, bn) = current.layers[1].W, current.layers[1].b
        cols = [None] * len(perm)
        for i, (j, s) in enumerate(zip(perm, scales)):
            cols[j] = [row[i] * s for row in Wn]
        Wt = [[cols[j][r] for j in range(len(perm))] for r in range(len(Wn))]
        nxt = pr.Network.from_weights([(Wt, bn)] + list(current.weights()[2:]))
        # check: the truncated function agrees with the observed one, exactly
        for x in Q.vertices + (Q.interior_point(),):
            y = tuple(sum(a * v for a, v in zip(w, x)) + c for w, c in zip(Wr, br))
            assert nxt(y) == current(x)
        current, domain = nxt, new_domain
    print(f" output layer in recovered coordinates: W = {[fmt(r) for r in current.layers[0].W]}"
          f", b = {fmt(current.layers[0].b)}")
    return True


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller demo, fewer checks")
    p.add_argument("--out", default="pl_figures_out", help="output directory")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    figures(args.out, args.quick)
    ok = identify_layer_by_layer(args.out, args.quick)
    print(f"done in {time.time() - t0:.1f} s; layer-by-layer identification "
          f"{'succeeded' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
