"""The ``polyrelu`` command line.

Each command lives in ``polyrelu.commands.<name>`` with ``add_parser`` and
``run``.  Bad input exits with code 2 and a one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from importlib import import_module

from .commands import COMMANDS
from .exceptions import PolyreluError

__all__ = ["main", "build_parser"]

_NEGATIVE_LIST = re.compile(r"^-[0-9.][0-9.,/eE+-]*$")
_RST_LITERAL = re.compile(r"``([^`]+)``")
_RST_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's error contract: exit code 2 and ONE line on
    stderr (argparse itself prints the usage block first)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# limits that must be positive (a NaN or negative time limit would otherwise
# mean "no limit" or "stop at once" silently)
_POSITIVE = ("time_limit", "max_regions", "max_transitions", "max_points", "dpi",
             "workers")
_NONNEGATIVE = ("samples", "show", "max_denominator")


def _check_limits(args) -> str | None:
    for name in _POSITIVE + _NONNEGATIVE:
        v = getattr(args, name, None)
        if v is None:
            continue
        ok = math.isfinite(v) and (v > 0 if name in _POSITIVE else v >= 0)
        if name == "max_denominator":
            ok = v >= 1
        if not ok:
            flag = "--" + name.replace("_", "-")
            want = "a positive number" if name in _POSITIVE or name == "max_denominator" \
                else "a non-negative number"
            return f"{flag} must be {want}, got {v}"
    return None


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(
        prog="polyrelu",
        description="Exact polyhedral geometry of ReLU networks: regions, tropical "
                    "form, folds, equivalence.")
    p.add_argument("--version", action="version", version=f"polyrelu {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        import_module(f".commands.{name}", __package__).add_parser(sub)
    # Let "--box -1,1,-2,2" and "--slice -1,0 2,3" through: argparse only knows
    # plain negative numbers, so widen its matcher to comma lists of rationals.
    for parser in [p, *sub.choices.values()]:
        parser._negative_number_matcher = _NEGATIVE_LIST
        # descriptions are the commands' docstrings: show RST markup as text
        if parser.description:
            parser.description = _RST_ROLE.sub(r"\1", _RST_LITERAL.sub(
                r"\1", parser.description))
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    bad = _check_limits(args)
    if bad:
        print(f"polyrelu {args.command}: error: {bad}", file=sys.stderr)
        return 2
    mod = import_module(f".commands.{args.command}", __package__)
    from .budget import Budget

    # one budget for the whole command: --time-limit bounds everything the
    # command does; Ctrl-C interrupts it (commands that stop cleanly print or
    # write what they found, marked partial, then exit 130)
    budget = args.budget = Budget(getattr(args, "max_regions", None),
                                  getattr(args, "time_limit", None))
    try:
        if getattr(mod, "INTERRUPTIBLE", False):
            note = (f"polyrelu {args.command}: interrupted: finishing with what was "
                    f"found (Ctrl-C again to abort)")
            with budget.sigint(note):
                code = int(mod.run(args) or 0)
        else:
            code = int(mod.run(args) or 0)
        if budget.interrupted:
            print(f"polyrelu {args.command}: interrupted: the results are partial",
                  file=sys.stderr)
            return 130
        return code
    except PolyreluError as e:
        print(f"polyrelu {args.command}: error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        # a missing input file or a directory that cannot be created (--out)
        print(f"polyrelu {args.command}: error: {e.strerror or 'not found'}: {e.filename}",
              file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `polyrelu ... | head`: the reader left; exit quietly like other tools
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:   # e.g. --out naming a file, or an unwritable place
        where = f": {e.filename}" if e.filename else ""
        print(f"polyrelu {args.command}: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"polyrelu {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
