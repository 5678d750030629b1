"""The ``polyrelu`` command line.

Each command lives in ``polyrelu.commands.<name>`` with ``add_parser`` and
``run``.  Bad input exits with code 2 and a one-line message naming the
command (``polyrelu regions: error: ...``), never a traceback.

Every command takes ``-q/--quiet`` and ``-v/--verbose``.  Messages go through
``logging``, one logger per module under ``polyrelu``
(``logging.getLogger(__name__)``); :func:`main` sends the ``polyrelu``
logger to stderr at level INFO (notes, ``wrote FILE``), WARNING with
``--quiet`` (which also hides the progress bars) or DEBUG with ``--verbose``
(stages and timings).  Results go to stdout either way.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
import time
from importlib import import_module

from .commands import COMMANDS
from .exceptions import PolyreluError

__all__ = ["main", "build_parser"]

log = logging.getLogger(__name__)

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


class _Formatter(logging.Formatter):
    """``message`` for INFO, ``polyrelu CMD: warning: message`` for warnings
    (unless the message says ``note:`` itself) and ``[logger +seconds]
    message`` for DEBUG."""

    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.levelno >= logging.WARNING and not msg.startswith("note:"):
            kind = "error" if record.levelno >= logging.ERROR else "warning"
            return f"polyrelu {self.command}: {kind}: {msg}"
        if record.levelno < logging.INFO:
            return f"[{record.name} +{record.relativeCreated / 1000:.2f}s] {msg}"
        return msg


def configure_logging(command: str, quiet: bool = False, verbose: bool = False):
    """Send the ``polyrelu`` logger to stderr at the level the flags ask for;
    returns a function that undoes it (:func:`main` calls it at the end, so
    that calling ``main`` twice in one process does not print twice)."""
    logger = logging.getLogger("polyrelu")
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(command))
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(old)
    return undo


def _add_common_args(parser) -> None:
    g = parser.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true",
                   help="only warnings and errors on stderr (no progress bars, notes "
                        "or 'wrote FILE' lines); results still go to stdout")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="also debug messages on stderr (stages, timings)")


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
    for sp in sub.choices.values():
        _add_common_args(sp)
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
    """Run ``polyrelu`` with ``argv`` (default ``sys.argv[1:]``); the exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if not getattr(args, "command", None):
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        parser.print_help()
        return 2
    # the subparsers action: its choices map command names to their parsers
    action = next(a for a in parser._actions if a.dest == "command")
    sub = action.choices[args.command]  # type: ignore[index]
    if extra:
        # argparse reports these from the top parser ("polyrelu: error"); the
        # command they were given to is the one to name
        sub.error(f"unrecognized arguments: {' '.join(extra)}")
    bad = _check_limits(args)
    if bad:
        print(f"polyrelu {args.command}: error: {bad}", file=sys.stderr)
        return 2
    undo = configure_logging(args.command, args.quiet, args.verbose)
    t0, c0 = time.perf_counter(), time.process_time()
    log.debug(f"{args.command}: started")
    try:
        return _run(args)
    finally:
        # wall and CPU seconds side by side: the machines are shared
        log.debug(f"{args.command}: {time.perf_counter() - t0:.2f} s wall, "
                  f"{time.process_time() - c0:.2f} s CPU")
        undo()


def _run(args) -> int:
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
