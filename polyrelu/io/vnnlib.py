"""Reading VNN-LIB properties (the VNN-COMP format) into exact specifications.

A VNN-LIB file is a list of S-expressions in SMT-LIB syntax: ``(declare-const
X_i Real)`` for the inputs, ``(declare-const Y_j Real)`` for the outputs, and
``(assert F)`` where ``F`` is built from ``(<= a b)``, ``(>= a b)``, ``(< a b)``,
``(> a b)``, ``(and ...)``, ``(or ...)`` over linear terms (numbers, variables,
``(+ ...)``, ``(- ...)``, ``(* c t)``).  The conjunction of the assertions
describes the *unsafe* set: the property holds iff no input satisfying the
input constraints maps to an output satisfying the output constraints.

:func:`parse_vnnlib` turns the conjunction into disjunctive normal form and
groups it into :class:`VnnlibCase`\\ s: each an input box ``lo <= x <= hi``
with a disjunction of conjunctions ``C y <= d`` over the outputs (the form of
``polyrelu.bab.output_constraints``).  Numbers are read *exactly*
(``0.679857769`` is the decimal ``679857769/10^9``, not a float).  Strict and
non-strict comparisons are kept row by row (``strict``), so that a
counterexample is checked against the file's exact meaning.

Bad input raises :class:`VnnlibError` naming the file and the line: syntax
errors, undeclared variables, non-linear terms, atoms mixing inputs and
outputs, inputs without both bounds.

>>> text = '''(declare-const X_0 Real)
... (declare-const Y_0 Real)
... (assert (<= X_0 1))
... (assert (>= X_0 -1/2))
... (assert (>= Y_0 3))'''
>>> spec = parse_vnnlib(text)
>>> case = spec.cases[0]
>>> [str(v) for v in case.lo], [str(v) for v in case.hi]    # the input box
(['-1/2'], ['1'])
>>> case.disjuncts           # unsafe iff -y_0 <= -3
((((Fraction(-1, 1),),), (Fraction(-3, 1),)),)
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional, Union

from ..exceptions import PolyreluError

__all__ = ["VnnlibError", "VnnlibCase", "VnnlibProperty", "parse_vnnlib", "load_vnnlib",
           "write_vnnlib"]

#: a DNF with more conjunctions than this is refused (``and`` of ``or``\ s multiplies)
MAX_DISJUNCTS = 100_000


class VnnlibError(PolyreluError, ValueError):
    """A VNN-LIB file that cannot be read: the message names the file and line."""


@dataclass(frozen=True)
class VnnlibCase:
    """One input box with the unsafe output set over it.

    ``disjuncts`` is a tuple of ``(C, d)`` (row tuples, vector): the output
    ``y`` is unsafe iff ``C y <= d`` row-wise for some disjunct (``<`` in the
    rows where ``strict[k][r]``; no ``strict``: all non-strict)."""

    lo: tuple
    hi: tuple
    disjuncts: tuple
    strict: tuple = ()

    def unsafe(self, y: Any) -> Optional[int]:
        """The first disjunct that holds at outputs ``y`` (exact), or None."""
        y = [Fraction(v) for v in y]
        for k, (C, d) in enumerate(self.disjuncts):
            sts = self.strict[k] if self.strict else (False,) * len(d)
            ok = True
            for row, dk, st in zip(C, d, sts):
                v = sum((a * b for a, b in zip(row, y) if a), Fraction(0))
                if (v >= dk) if st else (v > dk):
                    ok = False
                    break
            if ok:
                return k
        return None

    def contains(self, x: Any) -> bool:
        return len(x) == len(self.lo) and all(a <= Fraction(v) <= b
                                              for v, a, b in zip(x, self.lo, self.hi))


@dataclass(frozen=True)
class VnnlibProperty:
    """A parsed VNN-LIB file: the unsafe set is the union of its cases."""

    n_inputs: int
    n_outputs: int
    cases: tuple
    source: str = "<string>"

    def violated_at(self, x: Any, y: Any) -> Optional[int]:
        """The index of a case whose box holds ``x`` and whose unsafe set holds
        ``y`` (exact), or None."""
        for i, c in enumerate(self.cases):
            if c.contains(x) and c.unsafe(y) is not None:
                return i
        return None


# ---------------------------------------------------------------------------
# S-expressions with line numbers
# ---------------------------------------------------------------------------

_TOKEN = re.compile(r"\s+|;[^\n]*|\(|\)|[^\s();]+")


class _Sym(str):
    """An atom token with the line it is on."""

    line: int

    def __new__(cls, text: str, line: int) -> "_Sym":
        s = super().__new__(cls, text)
        s.line = line
        return s


class _List(list):
    line: int = 0


SExpr = Union[_Sym, _List]


def _tokens(text: str, where: str):
    line = 1
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() != pos:  # pragma: no cover - the pattern matches everything
            raise VnnlibError(f"{where}:{line}: unreadable text")
        pos = m.end()
        t = m.group()
        if t[0].isspace() or t[0] == ";":
            line += t.count("\n")
            continue
        yield _Sym(t, line)


def _read(text: str, where: str) -> list:
    stack: list = [_List()]
    opened: list = []
    for t in _tokens(text, where):
        if t == "(":
            lst = _List()
            lst.line = t.line
            stack[-1].append(lst)
            stack.append(lst)
            opened.append(t.line)
        elif t == ")":
            if len(stack) == 1:
                raise VnnlibError(f"{where}:{t.line}: unbalanced ')'")
            stack.pop()
            opened.pop()
        else:
            stack[-1].append(t)
    if len(stack) > 1:
        raise VnnlibError(f"{where}:{opened[-1]}: '(' is never closed (the file ends "
                          f"inside this expression)")
    return stack[0]


# ---------------------------------------------------------------------------
# linear terms and formulas
# ---------------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?(/\d+)?$")
_VAR = re.compile(r"^([XY])_(\d+)$")


def _number(t: str) -> Optional[Fraction]:
    if not _NUMBER.match(t):
        return None
    try:
        return Fraction(t)
    except (ValueError, ZeroDivisionError):
        return None


class _Ctx:
    def __init__(self, where: str) -> None:
        self.where = where
        self.declared: dict = {}

    def err(self, line: int, msg: str) -> VnnlibError:
        return VnnlibError(f"{self.where}:{line}: {msg}")


def _line(e: SExpr) -> int:
    return e.line


def _term(e: SExpr, ctx: _Ctx) -> dict:
    """A linear term as ``{var: coef, None: constant}`` (var = ("X", i) / ("Y", j))."""
    if isinstance(e, _Sym):
        v = _number(e)
        if v is not None:
            return {None: v}
        if e not in ctx.declared:
            m = _VAR.match(e)
            hint = "" if m else " (variables are X_i for inputs and Y_j for outputs)"
            raise ctx.err(e.line, f"undeclared variable {str(e)!r}{hint}")
        return {ctx.declared[e]: Fraction(1)}
    if not e:
        raise ctx.err(e.line, "empty expression '()' where a term is expected")
    op = e[0]
    if not isinstance(op, _Sym):
        raise ctx.err(e.line, "an expression must start with an operator")
    args = [_term(a, ctx) for a in e[1:]]
    if op == "+":
        if not args:
            raise ctx.err(e.line, "'+' needs at least one argument")
        return _add(args)
    if op == "-":
        if not args:
            raise ctx.err(e.line, "'-' needs at least one argument")
        if len(args) == 1:
            return _scale(args[0], Fraction(-1))
        return _add([args[0]] + [_scale(a, Fraction(-1)) for a in args[1:]])
    if op == "*":
        if not args:
            raise ctx.err(e.line, "'*' needs at least one argument")
        out: dict = {None: Fraction(1)}
        for a in args:
            if set(a) <= {None}:
                out = _scale(out, a.get(None, Fraction(0)))
            elif set(out) <= {None}:
                out = _scale(a, out.get(None, Fraction(0)))
            else:
                raise ctx.err(e.line, "non-linear term: a product of two variables")
        return out
    if op in ("<=", ">=", "<", ">", "and", "or", "not", "="):
        raise ctx.err(e.line, f"'{op}' where a term is expected")
    raise ctx.err(e.line, f"unknown operator {str(op)!r} in a term (supported: + - *)")


def _add(args: list) -> dict:
    out: dict = {}
    for a in args:
        for k, v in a.items():
            out[k] = out.get(k, Fraction(0)) + v
    return out


def _scale(a: dict, s: Fraction) -> dict:
    return {k: v * s for k, v in a.items()}


# an atom: (kind, coefficient dict without constant, rhs, strict, line) meaning sum <= rhs
def _atoms(op: str, args: list, line: int, ctx: _Ctx) -> list:
    """``a op b`` chained (SMT-LIB ``(<= a b c)`` = ``a <= b and b <= c``) as
    atoms ``t <= r`` (``t < r`` when strict)."""
    if len(args) < 2:
        raise ctx.err(line, f"'{op}' needs at least two arguments")
    out = []
    for a, b in zip(args, args[1:]):
        lhs, rhs = (a, b) if op in ("<=", "<") else (b, a)
        diff = _add([lhs, _scale(rhs, Fraction(-1))])
        const = diff.pop(None, Fraction(0))
        coefs = {k: v for k, v in diff.items() if v}
        kinds = {k[0] for k in coefs}
        if len(kinds) > 1:
            raise ctx.err(line, "a constraint mixes inputs (X) and outputs (Y); VNN-LIB "
                                "properties constrain them separately")
        out.append((kinds.pop() if kinds else None, coefs, -const, op in ("<", ">"), line))
    return out


def _formula(e: SExpr, ctx: _Ctx) -> list:
    """DNF: a list of conjunctions, each a list of atoms."""
    if isinstance(e, _Sym):
        if e == "true":
            return [[]]
        if e == "false":
            return []
        raise ctx.err(e.line, f"{str(e)!r} is not a formula (expected (<= a b), (>= a b), "
                              f"(and ...), (or ...))")
    if not e or not isinstance(e[0], _Sym):
        raise ctx.err(e.line, "a formula must start with an operator")
    op = e[0]
    if op in ("<=", ">=", "<", ">"):
        return [_atoms(op, [_term(a, ctx) for a in e[1:]], e.line, ctx)]
    if op == "=":
        terms = [_term(a, ctx) for a in e[1:]]
        return [_atoms("<=", terms, e.line, ctx) + _atoms(">=", terms, e.line, ctx)]
    if op == "and":
        dnf: list = [[]]
        for a in e[1:]:
            sub = _formula(a, ctx)
            if len(dnf) * len(sub) > MAX_DISJUNCTS:
                raise ctx.err(e.line, f"the formula has more than {MAX_DISJUNCTS} "
                                      f"disjuncts in normal form")
            dnf = [p + q for p, q in itertools.product(dnf, sub)]
        return dnf
    if op == "or":
        out: list = []
        for a in e[1:]:
            out.extend(_formula(a, ctx))
        return out
    if op == "not":
        raise ctx.err(e.line, "'not' is not supported (write the negated comparison)")
    raise ctx.err(e.line, f"unknown operator {str(op)!r} in a formula (supported: <=, >=, "
                          f"<, >, =, and, or)")


# ---------------------------------------------------------------------------
# the file
# ---------------------------------------------------------------------------

def parse_vnnlib(text: str, source: str = "<string>") -> VnnlibProperty:
    """Parse VNN-LIB text (module docstring); ``source`` names it in errors."""
    where = source
    ctx = _Ctx(where)
    top = _read(text, where)
    asserts: list = []
    counts = {"X": -1, "Y": -1}
    for e in top:
        if isinstance(e, _Sym):
            raise ctx.err(e.line, f"unexpected {str(e)!r} outside an expression")
        if not e or not isinstance(e[0], _Sym):
            raise ctx.err(e.line, "expected (declare-const ...) or (assert ...)")
        head = e[0]
        if head == "declare-const":
            if len(e) != 3 or not isinstance(e[1], _Sym) or not isinstance(e[2], _Sym):
                raise ctx.err(e.line, "expected (declare-const NAME Real)")
            name, sort = e[1], e[2]
            if sort != "Real":
                raise ctx.err(e.line, f"{str(name)}: sort {str(sort)!r} is not supported "
                                      f"(only Real)")
            m = _VAR.match(name)
            if not m:
                raise ctx.err(e.line, f"variable {str(name)!r}: VNN-LIB names inputs X_i and "
                                      f"outputs Y_j")
            if name in ctx.declared:
                raise ctx.err(e.line, f"{str(name)} is declared twice")
            ctx.declared[name] = (m.group(1), int(m.group(2)))
            counts[m.group(1)] = max(counts[m.group(1)], int(m.group(2)))
        elif head == "assert":
            if len(e) != 2:
                raise ctx.err(e.line, "(assert F) takes exactly one formula")
            asserts.append(e[1])
        elif head in ("set-logic", "set-info", "check-sat", "get-model", "exit",
                      "set-option"):
            continue
        else:
            raise ctx.err(e.line, f"unknown command {str(head)!r} (expected declare-const "
                                  f"or assert)")
    n_in, n_out = counts["X"] + 1, counts["Y"] + 1
    for kind, n in (("X", n_in), ("Y", n_out)):
        have = {i for (k, i) in ctx.declared.values() if k == kind}
        missing = sorted(set(range(n)) - have)
        if missing:
            raise VnnlibError(f"{where}: {kind}_{missing[0]} is not declared, but "
                              f"{kind}_{n - 1} is (variables are numbered from 0)")
    if n_in == 0:
        raise VnnlibError(f"{where}: no input variables (declare-const X_0 Real ...)")
    if n_out == 0:
        raise VnnlibError(f"{where}: no output variables (declare-const Y_0 Real ...)")
    dnf: list = [[]]
    for a in asserts:
        sub = _formula(a, ctx)
        if len(dnf) * len(sub) > MAX_DISJUNCTS:
            raise ctx.err(a.line, f"the assertions have more than {MAX_DISJUNCTS} "
                                  f"disjuncts in normal form")
        dnf = [p + q for p, q in itertools.product(dnf, sub)]
    cases: dict = {}
    for conj in dnf:
        box = _box(conj, n_in, ctx, asserts)
        if box is None:
            continue                      # an empty input set: no unsafe point
        rows, rhs, strict = [], [], []
        const_false = False
        for kind, coefs, r, st, line in conj:
            if kind == "X":
                continue
            if kind is None:              # a constant comparison
                if (0 >= r) if st else (0 > r):
                    const_false = True
                continue
            row = [Fraction(0)] * n_out
            for (_, j), v in coefs.items():
                row[j] += v
            rows.append(tuple(row))
            rhs.append(r)
            strict.append(st)
        if const_false:
            continue
        key = box
        entry = cases.setdefault(key, [])
        entry.append((tuple(rows), tuple(rhs), tuple(strict)))
    out = []
    for (lo, hi), ds in cases.items():
        out.append(VnnlibCase(lo, hi, tuple((rows, rhs) for rows, rhs, _ in ds),
                              tuple(st for _, _, st in ds)))
    return VnnlibProperty(n_in, n_out, tuple(out), source)


def _box(conj: list, n: int, ctx: _Ctx, asserts: list) -> Optional[tuple]:
    lo: list = [None] * n
    hi: list = [None] * n
    for kind, coefs, r, st, line in conj:
        if kind != "X":
            continue
        if len(coefs) != 1:
            raise ctx.err(line, "an input constraint must bound one variable (X_i <= c or "
                                "X_i >= c): polyrelu verifies properties over input boxes")
        ((_, i), c), = coefs.items()
        b = r / c
        if c > 0:
            hi[i] = b if hi[i] is None else min(hi[i], b)
        else:
            lo[i] = b if lo[i] is None else max(lo[i], b)
    for i in range(n):
        if lo[i] is None or hi[i] is None:
            side = "lower" if lo[i] is None else "upper"
            line = asserts[0].line if asserts else 1
            raise VnnlibError(f"{ctx.where}:{line}: X_{i} has no {side} bound (the input set "
                              f"must be a box)")
        if lo[i] > hi[i]:
            return None
    return tuple(lo), tuple(hi)


def load_vnnlib(path: Any) -> VnnlibProperty:
    """Read a ``.vnnlib`` file (:func:`parse_vnnlib`); errors name the file and line."""
    p = os.fspath(path)
    try:
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise VnnlibError(f"{p}: no such file") from None
    except UnicodeDecodeError as e:
        raise VnnlibError(f"{p}: not a text file ({e.reason})") from None
    except OSError as e:
        raise VnnlibError(f"{p}: cannot read: {e.strerror}") from None
    return parse_vnnlib(text, p)


def _num(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    return f"{v.numerator}/{v.denominator}"


def write_vnnlib(spec: VnnlibProperty) -> str:
    """VNN-LIB text for ``spec`` (exact numbers as ``p/q``); parses back equal."""
    lines = [f"(declare-const X_{i} Real)" for i in range(spec.n_inputs)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(spec.n_outputs)]

    def conj(case: VnnlibCase, k: int) -> str:
        C, d = case.disjuncts[k]
        sts = case.strict[k] if case.strict else (False,) * len(d)
        parts = []
        for row, r, st in zip(C, d, sts):
            op = "<" if st else "<="
            terms = " ".join(f"(* {_num(v)} Y_{j})" for j, v in enumerate(row) if v)
            parts.append(f"({op} (+ {terms or '0'}) {_num(r)})")
        return "(and " + " ".join(parts) + ")" if parts else "true"

    def box(case: VnnlibCase) -> str:
        return " ".join(f"(>= X_{i} {_num(a)}) (<= X_{i} {_num(b)})"
                        for i, (a, b) in enumerate(zip(case.lo, case.hi)))

    alts = [f"(and {box(c)} (or {' '.join(conj(c, k) for k in range(len(c.disjuncts)))}))"
            for c in spec.cases]
    lines.append("(assert (or " + " ".join(alts) + "))" if alts else "(assert false)")
    return "\n".join(lines) + "\n"
