"""``polyrelu check FILE ...``: verify result files independently.

Runs the standalone checker (:mod:`polyrelu.check`, standard library only:
the same as ``python -m polyrelu.check FILE``) on every file: partitions,
single regions and equivalence verdicts written by ``polyrelu regions --out``,
``regions --at ... --out``, ``equiv --certificate`` and ``demo``.  It
recomputes everything from the network weights in the file and prints one
line per file.  Exit code: 0 verified, 1 a claim is false or the file is
malformed or truncated, 2 not a result file this checker reads, 3 verified
but partial or without a checkable certificate.
"""

from __future__ import annotations

import json
import sys

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="verify result files with the standalone checker",
                       description=__doc__)
    p.add_argument("files", nargs="+", metavar="FILE", help="result files")
    p.add_argument("--workers", type=int, default=None,
                   help="processes for large partitions (default: all cores)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document: per file its exit code and message")


def run(args) -> int:
    from ..check import EXIT_FAILED, check_file

    code = 0
    out = []
    for path in args.files:
        rep = check_file(path, workers=args.workers)
        out.append({"file": path, "code": rep.code, "message": rep.message})
        if not args.json:
            print(rep.message, file=sys.stdout if rep.code == 0 else sys.stderr)
        code = EXIT_FAILED if EXIT_FAILED in (code, rep.code) else max(code, rep.code)
    if args.json:
        json.dump({"files": out, "code": code}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    return code
