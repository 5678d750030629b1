"""The ``polyrelu`` command line.

Each command lives in :mod:`polyrelu.commands.<name>` with ``add_parser`` and
``run``.  Bad input exits with code 2 and a one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import import_module

from .commands import COMMANDS
from .exceptions import PolyreluError

__all__ = ["main", "build_parser"]

_NEGATIVE_LIST = re.compile(r"^-[0-9.][0-9.,/eE+-]*$")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="polyrelu",
        description="Exact polyhedral geometry of ReLU networks: regions, tropical "
                    "form, folds, equivalence.")
    p.add_argument("--version", action="version", version=f"polyrelu {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        import_module(f".commands.{name}", __package__).add_parser(sub)
    # Let "--box -1,1,-2,2" and "--slice -1,0 2,3" through: argparse only knows
    # plain negative numbers, so widen its matcher to comma lists of rationals.
    for parser in [p, *sub.choices.values()]:
        parser._negative_number_matcher = _NEGATIVE_LIST
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    mod = import_module(f".commands.{args.command}", __package__)
    try:
        return int(mod.run(args) or 0)
    except PolyreluError as e:
        print(f"polyrelu {args.command}: error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"polyrelu {args.command}: error: file not found: {e.filename}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"polyrelu {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
