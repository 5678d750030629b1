"""``polyrelu tropical MODEL``: the tropical form of a network, exactly.

Prints the F/G/H recurrence layer by layer (Joyce & Verschelde Prop. 2.1,
eq. 14; skips folded into the layer input, eqs. 48-50): with ``W = W+ - W-``
and the layer input ``u = F_u - G_u``::

    H_l = W+ F_u + W- G_u + b,   G_l = W- F_u + W+ G_u,   F_l = max(H_l, G_l)

every ``F``, ``G``, ``H`` a tropical polynomial (a maximum of affine terms)
in the input, pruned to its never-redundant terms, and then the network
itself as one tropical rational function ``F (/) G`` per output (the value
is ``F(x) - G(x)``, exactly).  ``--latex`` prints the same as LaTeX
(``align*``), ``--json`` as one JSON document with every term exact.

``--at POINT`` or ``--pattern BITS`` (e.g. ``01001101|11111000``, layers
separated by ``|``) prints instead J&V's recurrence on one activation
pattern: the affine pieces ``F_A x + f_b``, ``G_A x + g_b``, ``H_A x + h_b``
of every layer (eqs. 11-16) and the inequalities of the pattern's region
(Theorem 2.2, with J&V's signs ``v = +1`` for an inactive neuron).

Tropical forms grow fast with depth and width (the embedded 2-8-8-1 model:
115 - 83 terms, about a minute): ``--max-terms`` and ``--time-limit`` stop
the computation with a clear message (a partial tropical form would mean
nothing), and the text summary shows polynomials of at most ``--show``
terms in full (the rest: ``--json`` or ``--latex``).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Sequence

from ._common import add_model_args, emit_json, load_model, parse_point, progress

__all__ = ["add_parser", "run", "parse_pattern", "polynomial_doc", "latex_lines"]

log = logging.getLogger(__name__)

RECURRENCE = ("H_l = W+ F_u + W- G_u + b, G_l = W- F_u + W+ G_u, F_l = max(H_l, G_l) "
              "(J&V Prop. 2.1, eq. 14)")


def add_parser(sub) -> None:
    p = sub.add_parser("tropical", help="F/G/H recurrence per layer and the tropical "
                                        "form F (/) G of a network", description=__doc__)
    add_model_args(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--at", default=None, metavar="POINT",
                   help="the recurrence on the activation pattern of this input, e.g. "
                        "1/3,-2 (affine pieces and region inequalities)")
    g.add_argument("--pattern", default=None, metavar="BITS",
                   help="the recurrence on this activation pattern, layers separated by "
                        "'|' (e.g. 0110|10; 1 = active)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--latex", action="store_true",
                     help="print LaTeX (an align* environment) instead of text")
    out.add_argument("--json", action="store_true",
                     help="print one JSON document on stdout (exact numbers as strings)")
    p.add_argument("--notation", choices=("max", "tropical"), default="max",
                   help="max(a.x + c, ...) (default) or the tropical c (.) x^(.a) (+) ... "
                        "(--latex only)")
    p.add_argument("--show", type=int, default=8, metavar="N",
                   help="in the text summary, print polynomials of at most N terms in "
                        "full (default 8)")
    p.add_argument("--no-prune", action="store_true",
                   help="keep redundant terms (faster, larger; the functions are equal)")
    p.add_argument("--max-terms", type=int, default=20000,
                   help="stop when a polynomial would exceed this many terms "
                        "(default 20000)")
    p.add_argument("--time-limit", type=float, default=None,
                   help="stop after this many seconds (no partial tropical form)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


# ---------------------------------------------------------------- helpers
def parse_pattern(text: str, net) -> tuple:
    """``"0110|10"`` (or ``"0,1,1,0;1,0"``) -> ``((0, 1, 1, 0), (1, 0))``,
    checked against the network's widths.

    >>> from polyrelu import Network
    >>> net = Network.from_weights([([[1], [-1]], [0, 0]), ([[1, 1]], [0])])
    >>> parse_pattern("10", net)
    ((1, 0),)
    """
    from ..exceptions import ShapeError

    layers = [t for t in re.split(r"[|;/ ]+", text.strip()) if t]
    pat = []
    for k, t in enumerate(layers, start=1):
        bits = t.split(",") if "," in t else list(t)
        if not all(b.strip() in ("0", "1", "2") for b in bits):
            raise ShapeError(f"--pattern layer {k}: {t!r} is not a string of bits "
                             f"(e.g. 0110; layers separated by '|')")
        pat.append(tuple(int(b) for b in bits))
    try:
        return net.check_pattern(pat)
    except ShapeError as e:
        raise ShapeError(f"--pattern {text!r}: {e} ({net.architecture})") from None


def _names(n: int, latex: bool) -> tuple:
    return tuple((f"x_{{{i + 1}}}" if latex else f"x{i + 1}") for i in range(n))


def polynomial_doc(p) -> dict:
    """A tropical polynomial as JSON: its terms (exact) and its text."""
    return {"num_terms": len(p),
            "terms": [{"a": list(a), "c": c} for a, c in p.terms],
            "text": str(p)}


def _matrix(M) -> list:
    return [list(row) for row in M]


def latex_lines(layers: Sequence[Any], form: Sequence[Any], notation: str = "max",
                names: Sequence[str] | None = None) -> list:
    r"""The ``align*`` body: ``F^{(l)}_{i}``, ``G^{(l)}_{i}``, ``H^{(l)}_{i}``
    of every hidden layer, ``H^{(L)}``/``G^{(L)}`` of the output layer, and
    ``\nu_{i}(x) = F - G`` per output, one ``... \\`` line each (LaTeX of
    :meth:`polyrelu.tropical.TropicalPolynomial.to_latex`)."""
    lines = []
    for T in layers:
        for i in range(len(T.H)):
            if T.F is not None:
                lines.append(f"F^{{({T.layer})}}_{{{i}}} &= {T.F[i].to_latex(names, notation)}")
            lines.append(f"G^{{({T.layer})}}_{{{i}}} &= {T.G[i].to_latex(names, notation)}")
            lines.append(f"H^{{({T.layer})}}_{{{i}}} &= {T.H[i].to_latex(names, notation)}")
    for i, nu in enumerate(form):
        lines.append(f"\\nu_{{{i}}}(x) &= {nu.to_latex(names, notation)}")
    return [ln + r" \\" for ln in lines[:-1]] + lines[-1:]


def _terms(n: int) -> str:
    return f"{n} term{'' if n == 1 else 's'}"


def _short(p, show: int) -> str:
    if len(p) <= show:
        return str(p)
    return f"max of {len(p)} terms (--json or --latex for all)"


# ---------------------------------------------------------------- pattern
def _pattern_report(args, net, model) -> int:
    from ..numbers import fraction_str
    from ..tropical import fgh_recurrence, region_inequalities

    if args.at is not None:
        x = parse_point(args.at, "--at")
        if len(x) != net.input_dim:
            from ..exceptions import DomainError

            raise DomainError(f"--at has {len(x)} coordinates, the model has "
                              f"{net.input_dim} inputs")
        pat = net.pattern(x)
    else:
        x = None
        pat = parse_pattern(args.pattern, net)
    recs = fgh_recurrence(net, pat)
    ineqs = region_inequalities(net, pat)
    if args.json:
        emit_json({
            "model": model, "architecture": net.architecture, "activation": net.activation,
            "at": None if x is None else list(x),
            "pattern": [list(b) for b in pat],
            "signs": [[1 - 2 * b for b in bits] for bits in pat],
            "layers": [{"layer": r.layer, "bits": None if r.bits is None else list(r.bits),
                        "F_A": None if r.F_A is None else _matrix(r.F_A),
                        "f_b": None if r.f_b is None else list(r.f_b),
                        "G_A": _matrix(r.G_A), "g_b": list(r.g_b),
                        "H_A": _matrix(r.H_A), "h_b": list(r.h_b),
                        "pre_activation": {"M": _matrix(r.pre_activation[0]),
                                           "c": list(r.pre_activation[1])}}
                       for r in recs],
            "region_inequalities": [{"layer": l, "A": _matrix(A), "b": list(b)}
                                    for l, (A, b) in enumerate(ineqs, start=1)],
        })
        return 0
    names = _names(net.input_dim, args.latex)

    # the tropical module's own affine formatting (text or LaTeX)
    from ..tropical import _affine_latex, _affine_str

    def aff(row, c):
        return (_affine_latex if args.latex else _affine_str)(row, c, names)

    bits = "|".join("".join(map(str, b)) for b in pat)
    if args.latex:
        lines = []
        for r in recs:
            for i in range(len(r.G_A)):
                if r.F_A is not None and r.f_b is not None:
                    lines.append(f"F^{{({r.layer})}}_{{{i}}} &= {aff(r.F_A[i], r.f_b[i])}")
                lines.append(f"G^{{({r.layer})}}_{{{i}}} &= {aff(r.G_A[i], r.g_b[i])}")
                lines.append(f"H^{{({r.layer})}}_{{{i}}} &= {aff(r.H_A[i], r.h_b[i])}")
        for l, (A, b) in enumerate(ineqs, start=1):
            for i, (row, c) in enumerate(zip(A, b)):
                lines.append(f"&{aff(row, -c)} \\le 0 && \\text{{layer {l}, neuron {i}}}")
        print(f"% polyrelu tropical {model}: {net.architecture}, pattern {bits}")
        print("\\begin{align*}")
        print("\n".join([ln + r" \\" for ln in lines[:-1]] + lines[-1:]))
        print("\\end{align*}")
        return 0
    print(f"model: {model} ({net.architecture}, {net.activation})")
    where = f" of x = ({', '.join(map(fraction_str, x))})" if x is not None else ""
    print(f"activation pattern{where}: {bits} (1 = active; J&V's v = +1 for inactive)")
    print(f"F/G/H recurrence on the pattern's region: {RECURRENCE}")
    for r in recs:
        print(f" layer {r.layer}" + ("" if r.bits is None else
                                     f" (bits {''.join(map(str, r.bits))})") + ":")
        for i in range(len(r.G_A)):
            if r.F_A is not None and r.f_b is not None:
                print(f"  F{i} = {aff(r.F_A[i], r.f_b[i])}")
            print(f"  G{i} = {aff(r.G_A[i], r.g_b[i])}")
            print(f"  H{i} = {aff(r.H_A[i], r.h_b[i])}")
    print("region (J&V Theorem 2.2: v (H - G) <= 0 per hidden neuron):")
    for l, (A, b) in enumerate(ineqs, start=1):
        for i, (row, c) in enumerate(zip(A, b)):
            print(f"  layer {l}, neuron {i}: {aff(row, -c)} <= 0")
    return 0


# ---------------------------------------------------------------- command
def run(args) -> int:
    from ..tropical import tropical_layers

    net = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    model = args.model or "<embedded default model>"
    if args.at is not None or args.pattern is not None:
        return _pattern_report(args, net, model)
    import time

    t0 = time.process_time()
    with progress(args) as bar:
        layers = tropical_layers(net, prune=not args.no_prune, max_terms=args.max_terms,
                                 time_limit=args.time_limit, progress=bar)
    log.debug(f"tropical form of {net.architecture}: {time.process_time() - t0:.2f} s CPU")
    from ..tropical import TropicalRational

    last = layers[-1]
    form = tuple(TropicalRational(h, g) for h, g in zip(last.H, last.G))
    if args.json:
        emit_json({
            "model": model, "architecture": net.architecture, "activation": net.activation,
            "pruned": not args.no_prune,
            "recurrence": RECURRENCE,
            "variables": list(_names(net.input_dim, False)),
            "layers": [{"layer": T.layer, "neurons": [
                {"neuron": i,
                 "F": None if T.F is None else polynomial_doc(T.F[i]),
                 "G": polynomial_doc(T.G[i]), "H": polynomial_doc(T.H[i])}
                for i in range(len(T.H))]} for T in layers],
            "form": [{"output": i, "F": polynomial_doc(nu.F), "G": polynomial_doc(nu.G),
                      "text": str(nu), "latex": nu.to_latex(notation=args.notation)}
                     for i, nu in enumerate(form)],
        })
        return 0
    if args.latex:
        print(f"% polyrelu tropical {model}: {net.architecture} ({net.activation}), "
              f"{'pruned' if not args.no_prune else 'not pruned'}")
        print("\\begin{align*}")
        print("\n".join(latex_lines(layers, form, args.notation)))
        print("\\end{align*}")
        return 0
    print(f"model: {model} ({net.architecture}, {net.activation})")
    print(f"F/G/H recurrence: {RECURRENCE}; F, G, H are tropical polynomials in "
          f"{', '.join(_names(net.input_dim, False))}"
          + ("" if not args.no_prune else " (not pruned)"))
    for T in layers:
        kind = "output layer" if T.F is None else "hidden layer"
        counts = "; ".join(
            (f"F {len(T.F[i])}, " if T.F is not None else "")
            + f"G {len(T.G[i])}, H {len(T.H[i])}" for i in range(len(T.H)))
        print(f" layer {T.layer} ({kind}), terms per neuron: {counts}")
        for i in range(len(T.H)):
            for name, polys in (("F", T.F), ("G", T.G), ("H", T.H)):
                if polys is not None and len(polys[i]) <= args.show:
                    print(f"  {name}{i} = {polys[i]}")
    print("tropical form: output = F (/) G, i.e. F(x) - G(x), exactly:")
    for i, nu in enumerate(form):
        print(f" output {i}: F has {_terms(len(nu.F))}, G has {_terms(len(nu.G))}")
        print(f"  F = {_short(nu.F, args.show)}")
        print(f"  G = {_short(nu.G, args.show)}")
    return 0
