"""Number policy: the one place where values become exact rationals.

Every number in polyrelu's exact path is a :class:`fractions.Fraction`.
Accepted inputs convert losslessly:

* ``int``, ``Fraction``, gmpy2 ``mpq``/``mpz``, sympy ``Rational``, numpy integers;
* ``str`` such as ``"3/4"``, ``"-2"``, ``"0.125"`` (decimal strings are exact:
  ``"0.1"`` is 1/10);
* ``float`` (and numpy floats): converted *exactly* -- every finite float is a
  dyadic rational, so ``0.1`` becomes 3602879701896397/36028797018963968.

Optional rounding with ``max_denominator`` is the only lossy step, and it
reports the largest absolute change it made (:func:`rationalize`).
No other module converts numbers its own way.

>>> to_fraction("3/4"), to_fraction(0.5), to_fraction(2)
(Fraction(3, 4), Fraction(1, 2), Fraction(2, 1))
>>> fraction_str(Fraction(-3, 4))
'-3/4'
"""

from __future__ import annotations

import collections.abc as _abc_c
import contextlib
import math
import numbers as _abc
import re
import sys
import threading
from fractions import Fraction
from typing import Any, Iterable, Sequence

from .exceptions import NonFiniteError, NumberError, ShapeError

__all__ = [
    "Fraction",
    "to_fraction",
    "to_vector",
    "to_matrix",
    "fraction_str",
    "brief",
    "int_str",
    "int_from_str",
    "unlimited_int_digits",
    "is_digit_limit_error",
    "rationalize",
    "Vector",
    "Matrix",
    "to_float",
    "float_matrix",
    "sqrt_float",
    "scaled_float_rows",
]

Vector = tuple  # tuple[Fraction, ...]
Matrix = tuple  # tuple[tuple[Fraction, ...], ...]


#: largest |exponent| of a decimal string ("1e5000" is 5001 digits, exact)
MAX_DECIMAL_EXPONENT = 100_000
_EXPONENT = re.compile(r"[eE]\s*([+-]?\d+)\s*$")
#: strings at least this long are parsed by :func:`_parse_long` (GMP), not by
#: ``Fraction(str)``, whose int conversion stops at Python's digit limit
_LONG_TEXT = 4000
_LONG_RATIO = re.compile(r"([+-]?)(\d+)/(\d+)")
_LONG_DECIMAL = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")


def _where(where: str | None) -> str:
    return f" at {where}" if where else ""


def brief(value: Any, width: int = 40) -> str:
    """A short text of a value for a message: exact when short, else
    abbreviated -- a 5000-digit number in a file must not make a 5000-character
    error (nor fail in ``str`` beyond Python's digit limit).

    >>> brief(Fraction(3, 4)), brief("x" * 100)
    ('3/4', "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (100 characters)")
    >>> brief(Fraction(10) ** 5000 / 3)
    'about 3.33333e+4999'
    """
    if isinstance(value, (str, bytes)):
        if len(value) <= width:
            return repr(value)
        return f"{value[:30]!r}... ({len(value)} characters)"
    if isinstance(value, (int, Fraction)) and not isinstance(value, bool):
        x = Fraction(value)
        n, d = abs(x.numerator), x.denominator
        if n.bit_length() < 4 * width and d.bit_length() < 4 * width:
            text = fraction_str(x)
            if len(text) <= width:
                return text
        if n == 0:
            return "0"
        # log10 |x| from the leading 60 bits of n and d (display only)
        def log10(k: int) -> float:
            shift = max(k.bit_length() - 60, 0)
            return math.log10(k >> shift) + shift * math.log10(2)
        e10 = log10(n) - log10(d)
        exp = math.floor(e10)
        return f"about {'-' if x < 0 else ''}{10 ** (e10 - exp):.6g}e{exp:+d}"
    text = repr(value)
    return text if len(text) <= width else text[:width] + "..."


def to_fraction(value: Any, where: str | None = None) -> Fraction:
    """Convert one value to a :class:`Fraction`, exactly.

    Parameters
    ----------
    value : int, Fraction, float, str or rational
        The value.  Floats are converted exactly (no rounding).
    where : str, optional
        Where the value comes from (e.g. ``"layer 2, row 3"``), for the error.

    Raises
    ------
    NonFiniteError
        NaN or infinity.
    NumberError
        Anything that is not a real rational number.

    Examples
    --------
    >>> to_fraction("-1.25")
    Fraction(-5, 4)
    """
    if type(value) is Fraction:
        return value
    if isinstance(value, bool):
        raise NumberError(f"boolean {value!r} is not a number{_where(where)}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Fraction):
        return Fraction(value.numerator, value.denominator)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NonFiniteError(f"non-finite value {value!r}{_where(where)}")
        return Fraction(value)  # exact: every float is dyadic
    if isinstance(value, str):
        text = value.strip()
        m = _EXPONENT.search(text)
        if m and (len(m.group(1)) > 12 or abs(int(m.group(1))) > MAX_DECIMAL_EXPONENT):
            # Fraction("1e999999999") would build a billion-digit integer
            raise NumberError(f"decimal exponent of {brief(value)} is beyond "
                              f"+-{MAX_DECIMAL_EXPONENT}{_where(where)}")
        try:
            out = Fraction(text) if len(text) < _LONG_TEXT else _parse_long(text)
        except (ValueError, ZeroDivisionError):
            low = text.lower().lstrip("+-")
            if low in ("nan", "inf", "infinity"):
                raise NonFiniteError(
                    f"non-finite value {brief(value)}{_where(where)}"
                ) from None
            raise NumberError(
                f"cannot read {brief(value)} as a rational number{_where(where)}"
            ) from None
        return out
    # numpy scalars, gmpy2, sympy, flint: anything exposing an exact ratio.
    mod = type(value).__module__
    if mod.startswith("numpy"):
        import numpy as np

        if isinstance(value, np.integer):
            return Fraction(int(value))
        if isinstance(value, np.floating):
            return to_fraction(float(value), where)
        if isinstance(value, np.bool_):
            raise NumberError(f"boolean {value!r} is not a number{_where(where)}")
    if mod.startswith("sympy"):
        if getattr(value, "is_Rational", False):
            return Fraction(int(value.p), int(value.q))
        if getattr(value, "is_Float", False):
            return to_fraction(float(value), where)
        raise NumberError(f"sympy value {value!r} is not rational{_where(where)}")
    num = getattr(value, "numerator", None)
    den = getattr(value, "denominator", None)
    if num is not None and den is not None:
        try:
            n, d = int(num), int(den)
        except (TypeError, ValueError):
            pass
        else:
            if d == 0:
                raise NonFiniteError(f"zero denominator in {value!r}{_where(where)}")
            return Fraction(n, d)
    if isinstance(value, _abc.Real):
        return to_fraction(float(value), where)
    raise NumberError(
        f"expected a rational number (int, Fraction, float or str like '3/4'), "
        f"got {type(value).__name__} {value!r}{_where(where)}"
    )


def to_vector(values: Iterable[Any], where: str | None = None) -> tuple[Fraction, ...]:
    """Convert a 1-D sequence to a tuple of Fractions.

    >>> to_vector([1, "1/2", 0.25])
    (Fraction(1, 1), Fraction(1, 2), Fraction(1, 4))
    """
    if isinstance(values, (str, bytes, _abc_c.Mapping, _abc_c.Set)) or \
            not _is_iterable(values):
        # a dict would iterate over its keys, a set in no fixed order
        raise ShapeError(f"expected a vector (a sequence of numbers){_where(where)}, "
                         f"got {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        if type(v) is Fraction:
            out.append(v)
            continue
        if _is_iterable(v) and not isinstance(v, str):
            raise ShapeError(f"expected a vector, found a nested sequence at entry {i}"
                             f"{_where(where)}")
        out.append(_convert(v, lambda: f"{where}, entry {i}" if where else f"entry {i}"))
    return tuple(out)


def _convert(v: Any, where: Any) -> Fraction:
    """to_fraction, building the (costly) place description only on error."""
    try:
        return to_fraction(v)
    except NumberError:
        return to_fraction(v, where())


def to_matrix(rows: Any, where: str | None = None,
              ncols: int | None = None) -> tuple[tuple[Fraction, ...], ...]:
    """Convert a 2-D sequence (list of rows, numpy array) to a tuple of row tuples.

    All rows must have the same length (``ncols`` if given).

    >>> to_matrix([[1, 2], ["1/3", 0.5]])
    ((Fraction(1, 1), Fraction(2, 1)), (Fraction(1, 3), Fraction(1, 2)))
    """
    if hasattr(rows, "tolist") and not isinstance(rows, (list, tuple)):
        rows = rows.tolist()
    if isinstance(rows, (str, bytes)) or not _is_iterable(rows):
        raise ShapeError(f"expected a matrix (a list of rows){_where(where)}, "
                         f"got {type(rows).__name__}")
    out = []
    for r, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not _is_iterable(row):
            raise ShapeError(f"row {r} is not a sequence{_where(where)}")
        vals = []
        for c, v in enumerate(row):
            if type(v) is Fraction:
                vals.append(v)
            else:
                vals.append(_convert(v, lambda: f"{where}, row {r}, column {c}" if where
                                     else f"row {r}, column {c}"))
        if ncols is None:
            ncols = len(vals)
        elif len(vals) != ncols:
            raise ShapeError(f"row {r} has {len(vals)} entries, expected {ncols}"
                             f"{_where(where)}")
        out.append(tuple(vals))
    return tuple(out)


def _is_iterable(x: Any) -> bool:
    try:
        iter(x)
    except TypeError:
        return False
    return True


def _int_from_digits(digits: str) -> int:
    """``int(digits)`` for a string of decimal digits of any length."""
    import gmpy2

    return int(gmpy2.mpz(digits))


def int_from_str(text: str) -> int:
    """``int(text)`` for a decimal integer of any length (a JSON integer:
    ``json.loads(..., parse_int=int_from_str)``).

    >>> int_from_str("-" + "9" * 5000) == -(10 ** 5000 - 1)
    True
    """
    if len(text) < _LONG_TEXT:
        return int(text)
    neg = text.startswith("-")
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"invalid literal for int: {text[:40]!r}...")
    value = _int_from_digits(digits)
    return -value if neg else value


def _parse_long(text: str) -> Fraction:
    """``Fraction(text)`` for long texts (``"n/d"`` or a decimal with an
    optional exponent, no underscores): Python's int/str conversion refuses
    more than ``sys.get_int_max_str_digits()`` digits (4,300 by default, a
    guard against its quadratic algorithm); GMP converts in quasi-linear time,
    so a number as long as the file that holds it is read exactly."""
    m = _LONG_RATIO.fullmatch(text)
    if m:
        sign, num, den = m.groups()
        value = Fraction(_int_from_digits(num), _int_from_digits(den))
        return -value if sign == "-" else value
    m = _LONG_DECIMAL.fullmatch(text)
    if not m or not (m.group(2) or m.group(3)):
        raise ValueError(f"invalid literal for Fraction: {text[:40]!r}...")
    sign, whole, frac, exp = m.groups()
    frac = frac or ""
    value = Fraction(_int_from_digits((whole or "") + frac or "0"))
    shift = (int(exp) if exp else 0) - len(frac)
    value = value * 10 ** shift if shift >= 0 else value / 10 ** -shift
    return -value if sign == "-" else value


def int_str(n: int) -> str:
    """Decimal text of an int of any size (GMP beyond Python's digit limit).

    >>> len(int_str(10 ** 5000))
    5001
    """
    if -(10 ** 18) < n < 10 ** 18 or n.bit_length() < 10_000:
        return str(n)
    import gmpy2

    return str(gmpy2.mpz(n))


def fraction_str(x: Fraction | int) -> str:
    """Exact text form used in JSON and CLI output: ``"-3/4"``, ``"2"``.

    Numbers of any size are written (beyond Python's 4,300-digit int/str
    limit too: ``int_str``), and :func:`to_fraction` reads them back.
    """
    x = Fraction(x)
    num = int_str(x.numerator)
    return num if x.denominator == 1 else f"{num}/{int_str(x.denominator)}"


_DIGITS_LOCK = threading.Lock()
_DIGITS_USERS = 0
_DIGITS_SAVED = 0


@contextlib.contextmanager
def unlimited_int_digits():
    """Lift Python's int/str digit limit (``sys.set_int_max_str_digits``)
    while the body runs, for libraries that convert exact numbers through
    decimal strings (pycddlib's ``cdd.gmp`` does, both ways).  The limit is
    per interpreter: nested and concurrent users share one lift (a counter
    under a lock), and the old limit comes back when the last one leaves.

    >>> with unlimited_int_digits():
    ...     len(str(10 ** 5000))
    5001
    """
    global _DIGITS_USERS, _DIGITS_SAVED
    get = getattr(sys, "get_int_max_str_digits", None)
    if get is None:                 # pragma: no cover - Python without the limit
        yield
        return
    with _DIGITS_LOCK:
        if _DIGITS_USERS == 0:
            _DIGITS_SAVED = get()
            sys.set_int_max_str_digits(0)
        _DIGITS_USERS += 1
    try:
        yield
    finally:
        with _DIGITS_LOCK:
            _DIGITS_USERS -= 1
            if _DIGITS_USERS == 0:
                sys.set_int_max_str_digits(_DIGITS_SAVED)


def is_digit_limit_error(exc: BaseException) -> bool:
    """Is ``exc`` (or its cause) Python's int/str digit-limit ``ValueError``?"""
    while exc is not None:
        if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__   # type: ignore[assignment]
    return False


def rationalize(values: Any, max_denominator: int | None) -> tuple[Any, Fraction]:
    """Convert a nested structure of numbers, optionally rounding denominators.

    Parameters
    ----------
    values : rational or sequence
        A number or a (nested) sequence of numbers.
    max_denominator : int or None
        ``None`` converts exactly.  Otherwise every value becomes the closest
        fraction with denominator at most ``max_denominator``.

    Returns
    -------
    converted : Fraction or tuple
        The values as Fractions, nested as ``values`` is, sequences as tuples.
    max_change : Fraction
        The largest absolute change the rounding made (0 when exact).

    Examples
    --------
    >>> rationalize([0.1, 0.5], 10)
    ((Fraction(1, 10), Fraction(1, 2)), Fraction(1, 180143985094819840))
    """
    if max_denominator is not None and (not isinstance(max_denominator, int)
                                        or max_denominator < 1):
        raise NumberError(f"max_denominator must be a positive integer, "
                          f"got {max_denominator!r}")
    worst = Fraction(0)

    def conv(v: Any) -> Any:
        nonlocal worst
        if hasattr(v, "tolist") and not isinstance(v, (list, tuple)):
            v = v.tolist()
        if isinstance(v, (list, tuple)):
            return tuple(conv(x) for x in v)
        exact = to_fraction(v)
        if max_denominator is None:
            return exact
        r = exact.limit_denominator(max_denominator)
        worst = max(worst, abs(r - exact))
        return r

    return conv(values), worst


def to_float(x: Fraction) -> float:
    """Nearest float of an exact value (for display and float proposals only)."""
    return float(x)


def scaled_float_rows(rows: Sequence[Sequence[int]], ncols: int | None = None):
    """Float rows ``row / 2**e`` (``e`` = bit length of the row's largest
    entry, so entries are below 1) and the exponents, for float proposals of
    integer rows too large for floats or for an LP solver's infinity (rows of
    deep network layers).  Int true division is correctly rounded and cannot
    overflow here; the exponents scale multipliers back exactly.  ``ncols``
    fixes the shape when ``rows`` may be empty.

    >>> F, e = scaled_float_rows([[3, -4], [2 ** 2000, 1]])
    >>> F.tolist(), e
    ([[0.375, -0.5], [0.5, 0.0]], [3, 2001])
    """
    import numpy as np

    exps = [max((abs(v) for v in r), default=0).bit_length() for r in rows]
    return np.array([[v / (1 << e) for v in r] for r, e in zip(rows, exps)],
                    dtype=float).reshape(len(rows), -1 if ncols is None else ncols), exps


def sqrt_float(x: Any) -> float:
    """The float of ``sqrt(x)`` for an exact ``x >= 0`` (display and float
    lengths only), also where ``float(x)`` itself would overflow or underflow:
    ``x`` is scaled by an even power of two first (exactly), so only a root
    beyond the float range is ``inf``.

    >>> sqrt_float(Fraction(10) ** 310)
    1e+155
    >>> sqrt_float(Fraction(1, 4))
    0.5
    """
    x = to_fraction(x)
    if x < 0:
        raise NumberError(f"square root of the negative number {fraction_str(x)}")
    if x == 0:
        return 0.0
    # x = y * 4^k with y in [1/4, 4): float(y) is exact to 53 bits, no overflow
    k = (x.numerator.bit_length() - x.denominator.bit_length()) // 2
    y = x / Fraction(4) ** k if k >= 0 else x * Fraction(4) ** -k
    try:
        return math.ldexp(math.sqrt(float(y)), k)
    except OverflowError:
        return math.inf


def float_matrix(rows: Sequence[Sequence[Fraction]]):
    """A float64 numpy array of an exact matrix (proposals and plotting only)."""
    import numpy as np

    return np.array([[float(v) for v in row] for row in rows], dtype=np.float64)


# ---------------------------------------------------------------------------
# Exact libraries: the one place where Fractions become python-flint or gmpy2
# numbers and come back.  polyrelu.linalg computes on flint matrices (FLINT:
# 100-4,500x faster than Gauss-Jordan on Fractions for trained weights);
# scalar hot loops compute on gmpy2 mpq.  Results leave as Fractions.
# ---------------------------------------------------------------------------

__all__ += [
    "exact_to_fraction",
    "fmpq_matrix",
    "fmpz_matrix",
    "nmod_matrix",
    "fraction_rows",
    "mpq_to_fraction",
    "to_mpq_vector",
    "to_mpq_matrix",
]

_ZERO = Fraction(0)


def _flint() -> Any:
    """The python-flint module, imported on first use (it adds ~30-90 ms to
    ``import polyrelu``, which most commands would pay for nothing)."""
    import flint

    return flint


def exact_to_fraction(q: Any) -> Fraction:
    """Lossless Fraction of an exact library number (flint ``fmpq``/``fmpz``,
    gmpy2 ``mpq``/``mpz``, int): anything with integer ``numerator`` and
    ``denominator``.

    >>> import flint, gmpy2
    >>> exact_to_fraction(flint.fmpq(-3, 4)), exact_to_fraction(gmpy2.mpq(6, -4))
    (Fraction(-3, 4), Fraction(-3, 2))
    """
    return Fraction(int(q.numerator), int(q.denominator))


#: gmpy2 ``mpq`` -> Fraction (the name the mpq hot loops use)
mpq_to_fraction = exact_to_fraction


def to_mpq_vector(v: Sequence) -> list:
    """Lossless gmpy2 ``mpq`` list of a vector of Fractions (or ints, mpq)."""
    import gmpy2

    mpq = gmpy2.mpq
    return [mpq(x.numerator, x.denominator) if isinstance(x, Fraction) else mpq(x)
            for x in v]


def to_mpq_matrix(M: Sequence[Sequence]) -> list:
    """Lossless gmpy2 ``mpq`` rows of a matrix of Fractions."""
    return [to_mpq_vector(row) for row in M]


def to_fmpq(x: Any) -> Any:
    """One exact number as a flint ``fmpq`` (through :func:`to_fraction`
    unless it is a Fraction, an int or already flint's).

    >>> to_fmpq(Fraction(-3, 4))
    -3/4
    """
    flint = _flint()
    t = type(x)
    if t is flint.fmpq:
        return x
    if t is not Fraction and t is not int:
        x = to_fraction(x)
    return flint.fmpq(x.numerator, x.denominator)


def _fmpq_entries(rows: Sequence[Sequence], ncols: int) -> list:
    """Row-major flint entries of a rational matrix (Fractions, ints and flint
    numbers pass straight through; anything else goes through
    :func:`to_fraction`)."""
    flint = _flint()
    fmpq = flint.fmpq
    native = (int, fmpq, flint.fmpz)
    out: list = []
    for r, row in enumerate(rows):
        if len(row) != ncols:
            raise ShapeError(f"row {r} has {len(row)} entries, expected {ncols}")
        for x in row:
            t = type(x)
            if t is Fraction:
                out.append(fmpq(x.numerator, x.denominator) if x.denominator != 1
                           else x.numerator)
            elif t in native:
                out.append(x)
            else:
                f = to_fraction(x)
                out.append(fmpq(f.numerator, f.denominator))
    return out


def fmpq_column(values: Sequence) -> Any:
    """A flint ``fmpq_mat`` column of a vector (Fractions, ints or flint numbers).

    >>> fmpq_column([Fraction(1, 2), 3]).tolist()
    [[1/2], [3]]
    """
    return _flint().fmpq_mat(len(values), 1, _fmpq_entries([values], len(values)))


def fmpq_matrix(rows: Sequence[Sequence], ncols: int | None = None) -> Any:
    """A flint ``fmpq_mat`` of a rational matrix (rows of Fractions or ints).

    ``ncols`` fixes the shape when ``rows`` may be empty; ragged rows are a
    :class:`~polyrelu.exceptions.ShapeError`.

    >>> fmpq_matrix([[Fraction(1, 2), 3]]).tolist()
    [[1/2, 3]]
    """
    n = len(rows[0]) if ncols is None and len(rows) else (ncols or 0)
    return _flint().fmpq_mat(len(rows), n, _fmpq_entries(rows, n))


def fmpz_matrix(rows: Sequence[Sequence[int]], ncols: int | None = None) -> Any:
    """A flint ``fmpz_mat`` of an integer matrix (rows of ints).

    >>> fmpz_matrix([[1, -2], [3, 4]]).det()
    10
    """
    n = len(rows[0]) if ncols is None and len(rows) else (ncols or 0)
    out: list = []
    for r, row in enumerate(rows):
        if len(row) != n:
            raise ShapeError(f"row {r} has {len(row)} entries, expected {n}")
        out.extend(int(v) for v in row)
    return _flint().fmpz_mat(len(rows), n, out)


def nmod_matrix(rows: Sequence[Sequence[int]], p: int, ncols: int | None = None) -> Any:
    """A flint ``nmod_mat``: an integer matrix reduced modulo the word-size prime ``p``.

    >>> nmod_matrix([[2, 4], [1, 2]], 7).rank()
    1
    """
    return _flint().nmod_mat(fmpz_matrix(rows, ncols), p)


def fraction_rows(M: Any) -> list[list[Fraction]]:
    """The entries of a flint ``fmpq_mat`` or ``fmpz_mat`` as lists of Fractions.

    >>> fraction_rows(fmpq_matrix([[Fraction(1, 2), 0]]))
    [[Fraction(1, 2), Fraction(0, 1)]]
    """
    n = M.ncols()
    if n == 0:
        return [[] for _ in range(M.nrows())]
    e = M.entries()
    zero = _ZERO
    vals = [Fraction(int(q.numerator), int(q.denominator)) if q else zero for q in e]
    return [vals[i:i + n] for i in range(0, len(vals), n)]


def fmpq_diagonal(values: Sequence) -> Any:
    """The diagonal flint ``fmpq_mat`` of a vector of Fractions (row scalings).

    >>> fmpq_diagonal([Fraction(1, 2), 0]).tolist()
    [[1/2, 0], [0, 0]]
    """
    n = len(values)
    flat: list = [0] * (n * n)
    for i, q in zip(range(0, n * n, n + 1), _fmpq_entries([values], n)):
        flat[i] = q
    return _flint().fmpq_mat(n, n, flat)


__all__ += ["fmpq_diagonal", "fmpq_column", "to_fmpq"]
