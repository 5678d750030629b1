"""``polyrelu demo``: the main job, on the embedded default model.

It loads the embedded 2-8-8-1 network (trained on J&V's phi_2, shipped as exact
JSON), evaluates it exactly, enumerates its activation and linear regions over
[-10, 10]^2, draws them, computes the fold surface and its dependency graph,
and checks equivalence against a permuted + rescaled copy (certificate) and a
perturbed copy (rational counterexample).  Everything it prints is exact; the
partition and both verdicts are written in polyrelu's result format
(``regions.jsonl``, ``equivalence.json``, ``counterexample.json``) for
``polyrelu check``.
"""

from __future__ import annotations

import random
import time
from fractions import Fraction
from pathlib import Path

from ..exceptions import ShapeError
from ._common import add_output_args, emit_json, eprint, load_model, progress

__all__ = ["add_parser", "run", "permuted_scaled_copy"]


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="the main job on the embedded default model",
                       description=__doc__)
    p.add_argument("model", nargs="?", default=None,
                   help="a 2-input model file (default: the embedded model)")
    p.add_argument("--box", default="-10,10,-10,10", help='domain (default "-10,10,-10,10")')
    p.add_argument("--seed", type=int, default=0, help="seed of the permuted copy")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_output_args(p)
    p.set_defaults(out="demo-out")


def permuted_scaled_copy(net, seed: int = 0):
    """A copy of ``net`` with hidden units permuted and scaled by positive
    rationals (powers of two and thirds), exactly function-preserving.

    Returns ``(copy, permutations, scalings)`` with the meaning of SPEC's
    certificate (unit i of layer l of ``net`` = s[l][i] * unit p[l][i] of the copy).
    """
    from ..network import Network

    rng = random.Random(seed)
    hidden = net.hidden_widths
    perms = [rng.sample(range(w), w) for w in hidden]
    scales = [[Fraction(2) ** rng.randint(-3, 3) / 3 ** rng.randint(0, 2) for _ in range(w)]
              for w in hidden]
    layers = []
    L = net.num_layers
    # Copy g with f = net: W_g[l][p[i]][p_prev[j]] = W_f[l][i][j] * s_prev[j] / s[i].
    for l, layer in enumerate(net.layers, start=1):
        out_w = layer.out_dim
        in_w = layer.in_dim
        p = perms[l - 1] if l < L else list(range(out_w))
        s = scales[l - 1] if l < L else [Fraction(1)] * out_w
        pp = perms[l - 2] if l >= 2 else list(range(in_w))
        sp = scales[l - 2] if l >= 2 else [Fraction(1)] * in_w
        W = [[Fraction(0)] * in_w for _ in range(out_w)]
        b = [Fraction(0)] * out_w
        for i in range(out_w):
            for j in range(in_w):
                W[p[i]][pp[j]] = layer.W[i][j] * sp[j] / s[i]
            b[p[i]] = layer.b[i] / s[i]
        layers.append((W, b))
    if net.skips:
        raise NotImplementedError("permuted_scaled_copy: networks with skips")
    g = Network.from_weights(layers, activation=net.activation,
                             alpha=net.alpha if net.activation == "leaky_relu" else None)
    return g, perms, scales


def _perturbed_copy(net, delta: Fraction):
    from ..network import Network

    layers = [(list(map(list, W)), list(b)) for W, b in net.weights()]
    W_last, b_last = layers[-1]
    b_last[0] = b_last[0] + delta
    return Network.from_weights(layers, skips=net.skip_map, activation=net.activation,
                                alpha=net.alpha if net.activation == "leaky_relu" else None)


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..equivalence import equivalent
    from ..folds import fold_surface
    from ..numbers import fraction_str
    from ..plot import plot_dependency_graph, plot_fold_surface, plot_regions
    from ..regions import linear_regions, regions
    from ._common import domain_from_args

    t_start = time.perf_counter()
    say = eprint if args.json else print
    doc: dict = {}

    net = load_model(args.model)
    if net.input_dim != 2:
        # the demo draws regions and folds in the plane; bigger models have
        # their own commands with limits
        raise ShapeError(f"demo takes a 2-input model; {args.model} has {net.input_dim} "
                         f"inputs -- use `polyrelu regions` (with --max-regions / "
                         f"--time-limit), `polyrelu plot --slice` or `polyrelu equiv`")
    net, domain = domain_from_args(net, args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    say(f"model: {net!r}  ({sum(len(W) * len(W[0]) + len(b) for W, b in net.weights())} "
        f"exact rational parameters)")
    doc["model"] = {"architecture": net.architecture, "activation": net.activation,
                    "skips": {str(t): list(s) for t, s in net.skips}}
    net.save(out / "model.json")
    say(f"  exact weights written to {out / 'model.json'}")

    # 1. exact evaluation at a few rational points
    pts = [(Fraction(0), Fraction(0)), (Fraction(1, 3), Fraction(-2)),
           (Fraction(5), Fraction(7, 2)), (Fraction(-9), Fraction(9))]
    pts = [p[: net.input_dim] + (Fraction(0),) * (net.input_dim - len(p)) for p in pts]
    say("exact evaluation:")
    doc["evaluations"] = []
    for p in pts:
        y = net(p)
        pat = net.pattern(p)
        say(f"  f({', '.join(map(fraction_str, p))}) = "
            f"{', '.join(map(fraction_str, y))}  (~{', '.join(f'{float(v):.6g}' for v in y)})"
            f"  pattern {''.join(''.join(map(str, layer)) + '|' for layer in pat)[:-1]}")
        doc["evaluations"].append({"x": p, "y": y, "pattern": pat})

    # 2. regions over the box
    t0 = time.perf_counter()
    with progress(args) as bar:
        regs = list(regions(net, domain, progress=bar))
    lin = linear_regions(net, domain, region_list=regs)
    t_reg = time.perf_counter() - t0
    say(f"regions over {args.box}: {len(regs)} activation regions, {len(lin)} linear "
        f"regions ({t_reg:.2f} s, exact)")
    if net.input_dim == 2 and domain is not None:
        total = sum((r.polyhedron.volume() for r in regs), Fraction(0))
        say(f"  exact areas sum to {fraction_str(total)} = area of the domain "
            f"{fraction_str(domain.volume())}: {total == domain.volume()}")
    from ..results import write_equivalence, write_partition

    write_partition(out / "regions.jsonl", net, iter(regs), domain,
                    linear_regions=len(lin))
    doc["regions"] = {"activation_regions": len(regs), "linear_regions": len(lin),
                      "seconds": round(t_reg, 3)}
    if net.input_dim == 2:
        fig, axes = plt.subplots(1, 2, figsize=(13, 6.2))
        plot_regions(regs, ax=axes[0], color_by="region",
                     title=f"{len(regs)} activation regions")
        plot_regions(regs, ax=axes[1], color_by="map",
                     title=f"{len(lin)} linear regions (colour = affine map)")
        for ax in axes:
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
        fig.suptitle(f"Exact regions of the {net.architecture} default model on {args.box}")
        fig.tight_layout()
        fig.savefig(out / "regions.png", dpi=110)
        plt.close(fig)
        say(f"  {out / 'regions.jsonl'} (check it: polyrelu check {out / 'regions.jsonl'}), "
            f"{out / 'regions.png'}")

    # 3. fold surface and dependency graph
    t0 = time.perf_counter()
    surface = fold_surface(net, domain)
    graph = surface.dependency_graph()
    t_fold = time.perf_counter() - t0
    per_order = {k + 1: len(v) for k, v in enumerate(surface.layers)}
    say(f"fold surface: {sum(per_order.values())} canonical pieces by order {per_order}; "
        f"dependency graph {graph.number_of_nodes()} nodes, {graph.number_of_edges()} "
        f"edges ({t_fold:.2f} s)")
    surface.write_graphml(out / "dependency_graph.graphml")
    if net.input_dim == 2:
        fig, ax = plt.subplots(figsize=(7, 7))
        plot_fold_surface(surface, ax=ax, title=f"Fold set by canonical order "
                                                f"({net.architecture} on {args.box})")
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        fig.tight_layout()
        fig.savefig(out / "folds.png", dpi=110)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(8, 7))
        plot_dependency_graph(surface, ax=ax, title="Dependency graph of the fold surface")
        fig.tight_layout()
        fig.savefig(out / "dependency_graph.png", dpi=110)
        plt.close(fig)
        say(f"  {out / 'folds.png'}, {out / 'dependency_graph.png'}, "
            f"{out / 'dependency_graph.graphml'}")
    doc["folds"] = {"pieces_per_order": per_order, "graph_nodes": graph.number_of_nodes(),
                    "graph_edges": graph.number_of_edges()}

    # 4. equivalence: permuted + rescaled copy, and a perturbed copy
    g, perms, scales = permuted_scaled_copy(net, args.seed)
    res = equivalent(net, g, domain)
    say(f"equivalence with a permuted + rescaled copy: "
        f"{'EQUIVALENT' if res.equivalent else 'NOT equivalent'} (stage: {res.stage})")
    if res.certificate is not None:
        same = (list(map(list, res.certificate.permutations)) == perms
                and list(map(list, res.certificate.scalings)) == scales)
        say(f"  certificate permutations {res.certificate.permutations}; verified "
            f"exactly: {res.certificate.verify(net, g)}; equals the permutation and "
            f"scaling used to build the copy: {same}")
        say("  scalings " + "; ".join(
            "[" + ", ".join(fraction_str(s) for s in layer) + "]"
            for layer in res.certificate.scalings))
    write_equivalence(out / "equivalence.json", net, g, res, domain)
    h = _perturbed_copy(net, Fraction(1, 10 ** 12))
    res2 = equivalent(net, h, domain)
    write_equivalence(out / "counterexample.json", net, h, res2, domain)
    say(f"equivalence with a copy whose output bias moved by 1e-12: "
        f"{'EQUIVALENT' if res2.equivalent else 'NOT equivalent'} (stage: {res2.stage})")
    if res2.counterexample is not None:
        x = res2.counterexample
        fx, hx = net(x), h(x)
        say(f"  counterexample x = ({', '.join(map(fraction_str, x))}): f(x) - g(x) = "
            f"{fraction_str(fx[0] - hx[0])} (exact)")
    say(f"  certificates {out / 'equivalence.json'}, {out / 'counterexample.json'} "
        f"(polyrelu check verifies them without trusting polyrelu)")
    doc["equivalence"] = {
        "permuted_copy": {"equivalent": res.equivalent, "stage": res.stage,
                          "permutations": getattr(res.certificate, "permutations", None),
                          "scalings": getattr(res.certificate, "scalings", None)},
        "perturbed_copy": {"equivalent": res2.equivalent, "stage": res2.stage,
                           "counterexample": res2.counterexample}}
    elapsed = time.perf_counter() - t_start
    say(f"done in {elapsed:.1f} s; files in {out}/")
    doc["seconds"] = round(elapsed, 2)
    if args.json:
        emit_json(doc)
    return 0

