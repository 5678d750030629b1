"""``polyrelu verify MODEL PROPERTY.vnnlib``: decide a VNN-LIB property exactly.

Prints the VNN-COMP word on the first line -- ``unsat`` (the property holds:
every cell closed by a certified bound), ``sat`` (then the rational
counterexample ``((X_0 v) ... (Y_0 v) ...)``, checked by exact evaluation) or
``unknown`` (a limit stopped the run) -- then a summary on stderr.
``--results FILE`` writes the VNN-COMP result file.  Exit code: 0 unsat,
1 sat, 3 unknown, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import sys

from ._common import add_model_args, atomic_path, command_budget, emit_json, eprint, load_model

__all__ = ["add_parser", "run", "EXIT_CODES", "INTERRUPTIBLE"]

#: VNN-COMP word -> exit code
EXIT_CODES = {"unsat": 0, "sat": 1, "unknown": 3}
#: Ctrl-C stops the run like a limit: ``unknown`` is printed
INTERRUPTIBLE = True


def add_parser(sub) -> None:
    p = sub.add_parser("verify", help="decide a VNN-LIB property exactly (sat with a "
                                      "rational counterexample, unsat, or unknown)",
                       description=__doc__)
    add_model_args(p)
    p.add_argument("property", metavar="PROPERTY.vnnlib", help="VNN-LIB property file")
    p.add_argument("--time-limit", type=float, default=None, metavar="S",
                   help="seconds for the whole run (unknown -> exit code 3)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON document {"result": "sat" | "unsat" | "unknown", ...}')
    p.add_argument("--results", metavar="FILE", default=None,
                   help="write the VNN-COMP result file (sat/unsat/unknown and the "
                        "counterexample)")


def run(args) -> int:
    from ..io.vnnlib import load_vnnlib
    from ..verify import verify

    budget = command_budget(args)
    prop = load_vnnlib(args.property)
    net = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    res = verify(net, prop, budget=budget)
    if args.results:
        with atomic_path(args.results) as tmp:
            with open(tmp, "w") as fh:
                fh.write(res.vnncomp_text())
    if args.json:
        doc = res.as_dict()
        doc["model"] = args.model
        doc["property"] = args.property
        emit_json(doc)
    else:
        sys.stdout.write(res.vnncomp_text())
        st = res.stats
        what = {"holds": "the property holds", "violated": "the property is violated",
                "unknown": f"undecided ({res.reason})"}[res.verdict]
        eprint(f"{args.property}: {what}; {st.get('cells', 0)} cells, "
               f"{st.get('cpu', 0):.2f} s CPU, {st.get('wall', 0):.2f} s wall")
    return EXIT_CODES[res.result]
