"""The exact network model.

A :class:`Network` has input dimension ``d0``, hidden layers ``1..L-1`` of
widths ``d1..d_{L-1}`` and an affine output layer ``L``.  Layer ``l`` computes
``z_l = W_l u_l + b_l`` with ``u_l = nu_{l-1} + sum_k nu_k`` over the skips
``k -> l`` (J&V eq. 46), ``nu_0 = x`` and ``nu_l = sigma(z_l)`` for hidden layers.
Every weight is a :class:`~fractions.Fraction`; evaluation is exact.

A network may carry an *input affine map* ``x = A t + a`` (``input_map``):
its input is then ``t`` and ``nu_0 = x``.  :meth:`Network.restrict` creates
one for slices of networks with skips from the input (a skip ``0 -> l`` adds
``x0 + U t``, which plain weights on ``t`` cannot express); without such
skips the map is folded into layer 1 and ``input_map`` is None.

Patterns (SPEC): per hidden layer a tuple of ints, one per neuron, naming the
active piece of the activation.

* ReLU / leaky ReLU: 1 = active (``z >= 0``), 0 = inactive (``z <= 0``).  At a
  point with ``z = 0`` the bit is 1, unless the neuron's pre-activation is
  identically zero on the region (a dead or zero-weight unit), then it is 0.
* hard tanh: 0 = saturated low (``z <= -1``), 1 = linear (``-1 <= z <= 1``),
  2 = saturated high (``z >= 1``); ties go to the linear piece.

>>> net = Network.from_weights([([[1, -1], [1, 1]], [0, -1]), ([[1, 2]], ["1/2"])])
>>> net
Network(2-2-1, relu)
>>> net([2, 1])
(Fraction(11, 2),)
>>> net.pattern([2, 1])
((1, 1),)
>>> M, c = net.affine_map(net.pattern([2, 1]))
>>> M, c
(((Fraction(3, 1), Fraction(1, 1)),), (Fraction(-3, 2),))
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any, Iterable, Mapping, Sequence

from .exceptions import NetworkError, ShapeError, SkipError
from .linalg import to_mpq_matrix, to_mpq_vector
from .numbers import (
    exact_to_fraction,
    fmpq_column,
    fmpq_diagonal,
    fmpq_matrix,
    fraction_rows,
    rationalize,
    to_fmpq,
    to_fraction,
    to_matrix,
    to_vector,
)

__all__ = ["Network", "Layer", "ACTIVATIONS", "random_network"]

ACTIVATIONS = ("relu", "leaky_relu", "hard_tanh")

Vec = tuple[Fraction, ...]
Mat = tuple[tuple[Fraction, ...], ...]


@dataclass(frozen=True)
class Layer:
    """One affine layer ``z = W u + b`` (W: out x in, exact)."""

    W: Mat
    b: Vec

    @property
    def in_dim(self) -> int:
        return len(self.W[0]) if self.W else 0

    @property
    def out_dim(self) -> int:
        return len(self.W)


@dataclass(frozen=True, eq=False)
class Network:
    """An exact feed-forward piecewise-linear network (see module docstring).

    Build one with :meth:`from_weights`, :meth:`from_torch` or :meth:`load`.
    Equality and hashing are by exact value (weights, skips, activation).
    """

    layers: tuple[Layer, ...]
    skips: tuple[tuple[int, tuple[int, ...]], ...] = ()
    activation: str = "relu"
    alpha: Fraction = Fraction(0)
    #: largest absolute change made by ``max_denominator`` rounding (0 = exact)
    rounding_error: Fraction = field(default=Fraction(0), compare=False)
    #: ``(A, a)``: the input is ``t`` and ``nu_0 = x = A t + a`` (None: ``nu_0 = t``)
    input_map: tuple[Mat, Vec] | None = None

    def __post_init__(self) -> None:
        # Direct construction (Network(...)) is checked as well: a skip between
        # different widths would otherwise be summed with zip() silently.
        layers = self.layers
        for l in range(2, len(layers) + 1):
            if layers[l - 1].in_dim != layers[l - 2].out_dim:
                raise ShapeError(
                    f"layer {l}: W has {layers[l - 1].in_dim} columns but layer "
                    f"{l - 1} has {layers[l - 2].out_dim} outputs")
        if self.input_map is not None:
            A, a = self.input_map
            if len(A) != layers[0].in_dim or len(a) != len(A) or not A or not A[0] \
                    or any(len(row) != len(A[0]) for row in A):
                raise ShapeError(f"input_map: A must have {layers[0].in_dim} rows (the "
                                 f"columns of layer 1) of one length >= 1, and a as "
                                 f"many entries as A has rows")
        widths = [layers[0].in_dim] + [layer.out_dim for layer in layers]
        last = 0
        for target, sources in self.skips:
            if target <= last or not 2 <= target <= len(layers):
                raise SkipError(f"skips must be sorted by target layer in 2..{len(layers)}")
            last = target
            for s in sources:
                if not 0 <= s < target - 1:
                    raise SkipError(f"skip {s} -> {target}: the source must satisfy "
                                    f"0 <= source < target - 1")
                if widths[s] != widths[target - 1]:
                    raise SkipError(
                        f"skip {s} -> {target}: layer {s} has width {widths[s]} "
                        f"but the input of layer {target} has width "
                        f"{widths[target - 1]}")

    # ------------------------------------------------------------------ build
    @classmethod
    def from_weights(cls, layers: Sequence[tuple[Any, Any]],
                     skips: Mapping[int, Iterable[int]] | None = None,
                     activation: str = "relu", alpha: Any = None,
                     max_denominator: int | None = None,
                     input_map: tuple[Any, Any] | None = None) -> "Network":
        """Build a network from ``[(W_1, b_1), ..., (W_L, b_L)]``.

        Parameters
        ----------
        layers : list of tuple
            Pairs ``(W, b)``, W a list of rows (out x in); entries int, Fraction, str ("3/4") or
            float (converted exactly).  The last pair is the affine output layer.
        skips : dict, optional
            ``{target_layer: [source_layers]}``; 0 is the input.  A skip k -> l
            adds ``nu_k`` to the input of layer l (J&V eq. 46); requires
            ``k < l - 1`` and equal widths.
        activation : {"relu", "leaky_relu", "hard_tanh"}
        alpha : rational, optional
            Negative slope of leaky ReLU (default 1/100).
        max_denominator : int, optional
            Round every weight to the nearest fraction with at most this
            denominator; the largest change is kept in ``rounding_error``.
        input_map : tuple, optional
            A pair ``(A, a)``: the network's input is ``t`` and ``nu_0 = A t + a`` (A has as many
            rows as layer 1 has columns).  Without skips from the input it is
            folded into layer 1 exactly (``input_map`` is then None).

        Examples
        --------
        >>> Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])]).widths
        (2, 2, 1)
        """
        if activation not in ACTIVATIONS:
            raise NetworkError(f"unknown activation {activation!r}; "
                               f"supported: {', '.join(ACTIVATIONS)}")
        if not isinstance(layers, (list, tuple)) or len(layers) == 0:
            raise NetworkError("a network needs at least one (W, b) layer")
        built: list[Layer] = []
        worst = Fraction(0)
        for l, pair in enumerate(layers, start=1):
            try:
                W, b = pair
            except (TypeError, ValueError):
                raise NetworkError(f"layer {l}: expected a pair (W, b)") from None
            W = to_matrix(W, f"layer {l}, W")
            b = to_vector(b, f"layer {l}, b")
            if max_denominator is not None:
                (W, b), ch = rationalize((W, b), max_denominator)
                worst = max(worst, ch)
            if len(W) == 0 or len(W[0]) == 0:
                raise ShapeError(f"layer {l}: W is empty")
            if len(b) != len(W):
                raise ShapeError(f"layer {l}: W has {len(W)} rows but b has "
                                 f"{len(b)} entries")
            built.append(Layer(W, b))
        if activation == "leaky_relu":
            a = Fraction(1, 100) if alpha is None else to_fraction(alpha, "alpha")
        else:
            if alpha is not None and to_fraction(alpha, "alpha") != 0:
                raise NetworkError(f"alpha is only meaningful for leaky_relu, "
                                   f"not {activation}")
            a = Fraction(0)
        norm_skips = cls._normalise_skips(skips, built)
        # Width check: the input of layer l is nu_{l-1} (+ skips).
        for l in range(2, len(built) + 1):
            if built[l - 1].in_dim != built[l - 2].out_dim:
                raise ShapeError(
                    f"layer {l}: W has {built[l - 1].in_dim} columns but layer "
                    f"{l - 1} has {built[l - 2].out_dim} outputs")
        imap = None
        if input_map is not None:
            imap = _check_input_map(input_map, built[0].in_dim)
            if not any(0 in src for _, src in norm_skips):
                # nu_0 feeds layer 1 only: fold x = A t + a into it exactly.
                built[0] = _compose_first(built[0], *imap)
                imap = None
        return cls(tuple(built), norm_skips, activation, a, worst, imap)

    @staticmethod
    def _normalise_skips(skips, built):
        if not skips:
            return ()
        if not isinstance(skips, Mapping):
            raise SkipError("skips must be a dict {target_layer: [source_layers]}")
        L = len(built)
        widths = [built[0].in_dim] + [layer.out_dim for layer in built]
        out = []
        for target, sources in skips.items():
            # operator.index: ints (and numpy ints) only -- int() would turn
            # 1.5, True or "1" silently into a layer index.
            t_in = target
            try:
                if isinstance(target, bool):
                    raise TypeError
                target = operator.index(target)
            except TypeError:
                raise SkipError(f"skip target {t_in!r} is not an integer layer "
                                f"index") from None
            if isinstance(sources, (str, bytes)) or not isinstance(sources, Iterable):
                raise SkipError(f"skip target {target}: sources must be a list "
                                f"of layer indices, got {sources!r}")
            idx = []
            for s in sources:
                try:
                    if isinstance(s, bool):
                        raise TypeError
                    idx.append(operator.index(s))
                except TypeError:
                    raise SkipError(f"skip target {target}: source {s!r} is not an "
                                    f"integer layer index") from None
            sources = sorted(set(idx))
            if not 2 <= target <= L:
                raise SkipError(f"skip target layer {target} out of range 2..{L}")
            for s in sources:
                if not 0 <= s < target - 1:
                    raise SkipError(f"skip {s} -> {target}: the source must satisfy "
                                    f"0 <= source < target - 1")
                if widths[s] != widths[target - 1]:
                    raise SkipError(
                        f"skip {s} -> {target}: layer {s} has width {widths[s]} "
                        f"but the input of layer {target} has width "
                        f"{widths[target - 1]}")
            if sources:
                out.append((target, tuple(sources)))
        return tuple(sorted(out))

    # ------------------------------------------------------------ structure
    @property
    def input_dim(self) -> int:
        """Dimension of the input (``t``'s when there is an input map)."""
        if self.input_map is not None:
            return len(self.input_map[0][0])
        return self.layers[0].in_dim

    @property
    def output_dim(self) -> int:
        return self.layers[-1].out_dim

    @property
    def num_layers(self) -> int:
        """The number L of affine layers (hidden layers + output)."""
        return len(self.layers)

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        return tuple(layer.out_dim for layer in self.layers[:-1])

    @property
    def widths(self) -> tuple[int, ...]:
        """(d0, d1, ..., dL)."""
        return (self.input_dim,) + tuple(layer.out_dim for layer in self.layers)

    @property
    def architecture(self) -> str:
        return "-".join(str(w) for w in self.widths)

    @property
    def skip_map(self) -> dict[int, tuple[int, ...]]:
        """``{target: sources}`` for code that takes ``nu_0`` to be the input.

        Raises :class:`SkipError` for a network with an input map and skips
        from the input (such code would add ``t`` instead of ``A t + a``); use
        :attr:`skip_sources` with :attr:`input_affine` there.
        """
        if self.input_map is not None:
            raise SkipError(
                "this network has an input affine map x = A t + a (a restriction of a "
                "network with skips from the input), so a skip from layer 0 adds "
                "A t + a, not the input t; this operation assumes nu_0 = t and does "
                "not support it (input-map aware code uses net.skip_sources and "
                "net.input_affine)")
        return dict(self.skips)

    @property
    def skip_sources(self) -> dict[int, tuple[int, ...]]:
        """``{target: sources}``; a source 0 means ``nu_0`` (see :attr:`input_affine`)."""
        return dict(self.skips)

    @property
    def input_affine(self) -> tuple[Mat, Vec]:
        """``(A, a)`` with ``nu_0 = A t + a`` (identity and zero without an input map)."""
        if self.input_map is not None:
            return self.input_map
        d = self.layers[0].in_dim
        one, zero = Fraction(1), Fraction(0)
        return (tuple(tuple(one if i == j else zero for j in range(d)) for i in range(d)),
                (zero,) * d)

    @property
    def num_pieces(self) -> int:
        """Number of linear pieces of the activation (2 or 3)."""
        return 3 if self.activation == "hard_tanh" else 2

    def __repr__(self) -> str:
        extra = ""
        if self.activation == "leaky_relu":
            extra = f", alpha={self.alpha}"
        if self.skips:
            extra += ", skips={" + ", ".join(
                f"{t}: {list(s)}" for t, s in self.skips) + "}"
        if self.input_map is not None:
            extra += f", input map x = A t + a ({len(self.input_map[0])}x{self.input_dim})"
        return f"Network({self.architecture}, {self.activation}{extra})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return (self.layers == other.layers and self.skips == other.skips
                and self.activation == other.activation and self.alpha == other.alpha
                and self.input_map == other.input_map)

    def __hash__(self) -> int:
        return hash((self.layers, self.skips, self.activation, self.alpha, self.input_map))

    def __getstate__(self) -> dict:
        # the cached flint matrices (_f_*) do not pickle; they are rebuilt on demand
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_f_")}

    def weights(self) -> list[tuple[Mat, Vec]]:
        """The layers as a list of exact ``(W, b)`` pairs (an input map, if
        any, is not included: see :attr:`input_map`)."""
        return [(layer.W, layer.b) for layer in self.layers]

    # ---------------------------------------------------------- activation
    def _piece_affine(self, piece: int) -> tuple[Fraction, Fraction]:
        """(slope, offset) of the activation on ``piece``."""
        if self.activation == "relu":
            return (Fraction(1), Fraction(0)) if piece == 1 else (Fraction(0), Fraction(0))
        if self.activation == "leaky_relu":
            return (Fraction(1), Fraction(0)) if piece == 1 else (self.alpha, Fraction(0))
        if piece == 1:
            return Fraction(1), Fraction(0)
        return Fraction(0), Fraction(1 if piece == 2 else -1)

    def _piece_at(self, z) -> int:
        """Piece at a pre-activation value (tie rules of the module docstring)."""
        if self.activation == "hard_tanh":
            if z < -1:
                return 0
            return 2 if z > 1 else 1
        return 1 if z >= 0 else 0

    @cached_property
    def _f_alpha(self):
        return to_fmpq(self.alpha)

    @cached_property
    def _q_layers(self):
        return [(to_mpq_matrix(layer.W), to_mpq_vector(layer.b)) for layer in self.layers]

    @cached_property
    def _f_weights(self) -> tuple:
        """flint ``(W_l, b_l)`` of every layer (``b_l`` a column) and of the input
        map ``(A, a)`` (or None), for exact forward passes."""
        layers = [(W, fmpq_matrix([[v] for v in layer.b], 1))
                  for (W, _), layer in zip(self._f_layers, self.layers)]
        imap = None
        if self.input_map is not None:
            A, a = self.input_map
            imap = fmpq_matrix(A), fmpq_matrix([[v] for v in a], 1)
        return layers, imap

    # ---------------------------------------------------------- evaluation
    def _check_input(self, x: Any) -> tuple[Fraction, ...]:
        if hasattr(x, "tolist") and not isinstance(x, (list, tuple)):
            x = x.tolist()
        v = to_vector(x, "input")
        if len(v) != self.input_dim:
            raise ShapeError(f"input has dimension {len(v)}, the network expects "
                             f"{self.input_dim}")
        return v

    def _forward(self, x: Sequence[Fraction], want_pattern: bool = False):
        """Exact forward pass (one flint product per layer); returns (output,
        pre-activations, pattern), values as flint ``fmpq``."""
        skips = self._skips
        layers, imap = self._f_weights
        u = fmpq_column(x)
        if imap is not None:  # nu_0 = A t + a
            u = imap[0] * u + imap[1]
        nus = [u]
        zs = []
        pattern: list[tuple[int, ...]] = []
        L = self.num_layers
        act = self.activation
        for l, (W, b) in enumerate(layers, start=1):
            u = nus[-1]
            for s in skips.get(l, ()):
                u = u + nus[s]
            z = (W * u + b).entries()
            zs.append(z)
            if l == L:
                return z, zs, pattern
            pieces = [self._piece_at(zi) for zi in z]
            if want_pattern and act != "hard_tanh":
                zero = [i for i, zi in enumerate(z) if not zi]
                if zero:
                    # A neuron at z = 0 is active unless its pre-activation is
                    # identically zero given the earlier pattern (SPEC).
                    Z = self._flint_pre_maps(tuple(pattern), l)[-1]
                    for i in zero:
                        if not any(Z[i, j] for j in range(Z.ncols())):
                            pieces[i] = 0
            pattern.append(tuple(pieces))
            if act == "relu":
                nu = [zi if p == 1 else 0 for p, zi in zip(pieces, z)]
            elif act == "leaky_relu":
                nu = [zi if p == 1 else zi * self._f_alpha for p, zi in zip(pieces, z)]
            else:
                nu = [zi if p == 1 else (1 if p == 2 else -1) for p, zi in zip(pieces, z)]
            nus.append(fmpq_column(nu))
        raise AssertionError("unreachable")

    def _is_batch(self, x: Any) -> bool:
        if hasattr(x, "ndim"):
            return x.ndim == 2
        if isinstance(x, (list, tuple)) and x:
            first = x[0]
            return not isinstance(first, str) and hasattr(first, "__len__")
        return False

    def __call__(self, x: Any) -> Any:
        """Exact output at ``x`` (a vector), or a tuple of outputs (a batch).

        >>> net = Network.from_weights([([[1, 1]], [-1]), ([[2]], [0])])
        >>> net(["1/2", 1])
        (Fraction(1, 1),)
        >>> net([[0, 0], [1, 1]])
        ((Fraction(0, 1),), (Fraction(2, 1),))
        """
        if self._is_batch(x):
            return tuple(self(row) for row in x)
        out, _, _ = self._forward(self._check_input(x))
        return tuple(exact_to_fraction(v) for v in out)

    def pre_activations(self, x: Any) -> tuple[Vec, ...]:
        """Exact pre-activations ``z_1, ..., z_L`` at ``x`` (the last is the output).

        >>> Network.from_weights([([[1, 1]], [-1]), ([[2]], [0])]).pre_activations([1, 1])
        ((Fraction(1, 1),), (Fraction(2, 1),))
        """
        _, zs, _ = self._forward(self._check_input(x))
        return tuple(tuple(exact_to_fraction(v) for v in z) for z in zs)

    def pattern(self, x: Any) -> Any:
        """Activation pattern at ``x``: one tuple of piece indices per hidden layer
        (a tuple of patterns for a batch).

        >>> net = Network.from_weights([([[1, 0], [0, 0]], [0, 0]), ([[1, 1]], [0])])
        >>> net.pattern([0, 5])     # neuron 2 is identically zero: inactive
        ((1, 0),)
        """
        if self._is_batch(x):
            return tuple(self.pattern(row) for row in x)
        _, _, pattern = self._forward(self._check_input(x), want_pattern=True)
        return tuple(pattern)

    # --------------------------------------------------------- affine maps
    def check_pattern(self, pattern: Sequence[Sequence[int]],
                      upto: int | None = None) -> tuple[tuple[int, ...], ...]:
        """Validate a pattern's shape and values; return it as a tuple of tuples."""
        hw = self.hidden_widths
        n = len(hw) if upto is None else upto
        try:
            pat = tuple(tuple(int(p) for p in layer) for layer in pattern)
        except (TypeError, ValueError):
            raise NetworkError("a pattern is a sequence of per-layer sequences of "
                               "ints") from None
        if len(pat) < n or (upto is None and len(pat) != n):
            raise ShapeError(f"pattern has {len(pat)} layers, expected {n}")
        for l, (layer, w) in enumerate(zip(pat[:n], hw), start=1):
            if len(layer) != w:
                raise ShapeError(f"pattern layer {l} has {len(layer)} entries, the "
                                 f"layer has {w} neurons")
            bad = [p for p in layer if not 0 <= p < self.num_pieces]
            if bad:
                raise NetworkError(f"pattern layer {l}: piece {bad[0]} invalid for "
                                   f"{self.activation}")
        return pat[:n]

    @cached_property
    def _skips(self) -> dict[int, tuple[int, ...]]:
        return dict(self.skips)

    def layer_maps(self, pattern: Sequence[Sequence[int]]) -> tuple[tuple[Mat, Vec], ...]:
        """Pre-activation maps ``z_l = M_l x + c_l`` of every layer on the region
        of ``pattern`` (l = 1..L; the last is the output map).

        The map of layer ``l`` depends only on the pattern of layers ``< l``.

        >>> net = Network.from_weights([([[1, -1]], [0]), ([[3]], [1])])
        >>> net.layer_maps(((1,),))[1]
        (((Fraction(3, 1), Fraction(-3, 1)),), (Fraction(1, 1),))
        """
        pat = self.check_pattern(pattern)
        return tuple(_split_map(Z, self.input_dim) for Z in self._flint_pre_maps(pat))

    def affine_map(self, pattern: Sequence[Sequence[int]]) -> tuple[Mat, Vec]:
        """Exact ``(M, c)`` with ``net(x) = M x + c`` on the region of ``pattern``.

        >>> net = Network.from_weights([([[1, -1]], [0]), ([[3]], [1])])
        >>> net.affine_map(((0,),))
        (((Fraction(0, 1), Fraction(0, 1)),), (Fraction(1, 1),))
        """
        pat = self.check_pattern(pattern)
        return _split_map(self._flint_pre_maps(pat)[-1], self.input_dim)

    @cached_property
    def _f_layers(self) -> list:
        """flint ``(W_l, [0 | b_l])`` of every layer: ``W_l [U | u] + [0 | b_l]``
        is the augmented pre-activation map ``[W_l U | W_l u + b_l]``."""
        d0 = self.input_dim
        zeros = [0] * d0
        return [(fmpq_matrix(layer.W), fmpq_matrix([zeros + [v] for v in layer.b], d0 + 1))
                for layer in self.layers]

    def _flint_pre_maps(self, pattern: tuple, upto: int | None = None) -> list:
        """Augmented pre-activation maps ``[M_l | c_l]`` (flint ``fmpq_mat``) of
        layers 1..upto (default L) on the region of a checked ``pattern`` (its
        first ``upto - 1`` layers are used; J&V eq. 14 with the pattern fixed:
        each layer multiplies the previous post-activation map,
        ``nu_l = S_l z_l + o_l`` with the pieces' slopes ``S_l`` and offsets)."""
        d0 = self.input_dim
        last = self.num_layers if upto is None else upto
        if self.input_map is None:
            U = fmpq_matrix([[1 if i == j else 0 for j in range(d0 + 1)] for i in range(d0)],
                            d0 + 1)
        else:
            A, a = self.input_map
            U = fmpq_matrix([tuple(r) + (ai,) for r, ai in zip(A, a)], d0 + 1)
        posts = [U]
        pres = []
        skips = self._skips
        for l, (W, B) in enumerate(self._f_layers[:last], start=1):
            U = posts[l - 1]
            for s in skips.get(l, ()):
                U = U + posts[s]
            Z = W * U + B
            pres.append(Z)
            if l < last:
                slopes, offs = zip(*(self._piece_affine(p) for p in pattern[l - 1]))
                post = fmpq_diagonal(slopes) * Z
                if any(offs):  # hard tanh's saturated pieces: constant +-1
                    post += fmpq_matrix([[0] * d0 + [o] for o in offs], d0 + 1)
                posts.append(post)
        return pres

    # ------------------------------------------------------------- slices
    def restrict(self, x0: Any, U: Any) -> "Network":
        """The network of the affine slice ``x = x0 + U t`` (input ``t``).

        ``U`` is ``d0 x k`` (``k >= 1``); the result has ``k`` inputs and the
        same hidden layers, so ``net.restrict(x0, U)(t) == net(x0 + U t)`` and
        pre-activations agree; patterns agree too, except for a unit that is
        identically zero on the slice but not on all of ``R^d0`` (bit 0 on the
        slice by the SPEC's dead-unit rule).  The slice is folded into layer 1
        exactly.  A skip from the input (layer 0) adds ``x0 + U t`` to a later
        layer, which no weights on ``t`` express: then the result carries the
        input map ``x = x0 + U t`` instead (:attr:`input_map`; a second
        restriction composes the maps).

        >>> net = Network.from_weights([([[1, -1]], [0]), ([[3]], [1])])
        >>> line = net.restrict([0, 1], [[1], [0]])    # x = (t, 1)
        >>> line([2]) == net([2, 1])
        True
        >>> res = Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])],
        ...                            skips={2: [0]})   # x + relu(x)
        >>> res.restrict([1, 1], [[1], [-1]])([3]) == res([4, -2])
        True
        """
        d = self.input_dim
        x0 = to_vector(x0, "restrict x0")
        U = to_matrix(U, "restrict U")
        if len(x0) != d or len(U) != d:
            raise ShapeError(f"restrict: x0 has {len(x0)} entries and U has {len(U)} "
                             f"rows; both must equal the input dimension {d}")
        if not U[0]:
            raise ShapeError("restrict: U has no column (a slice needs k >= 1 directions)")
        if self.input_map is None and not any(0 in s for _, s in self.skips):
            layers = (_compose_first(self.layers[0], U, x0),) + self.layers[1:]
            return Network(layers, self.skips, self.activation, self.alpha,
                           self.rounding_error)
        # nu_0 = A (x0 + U t) + a: compose with the existing map (identity if none).
        from .linalg import matmul, matvec

        A, a = self.input_affine
        imap = (matmul(A, U), tuple(p + q for p, q in zip(matvec(A, x0), a)))
        return Network(self.layers, self.skips, self.activation, self.alpha,
                       self.rounding_error, imap)

    # ------------------------------------------------------------------ I/O
    @classmethod
    def from_torch(cls, module: Any, max_denominator: int | None = None) -> "Network":
        """Exact network of a torch model: a ``torch.export`` ``ExportedProgram``
        (recommended), an ``nn.Module`` or a TorchScript module (see
        :mod:`polyrelu.io.torch`)."""
        from .io.torch import from_torch

        return from_torch(module, max_denominator=max_denominator)

    def to_torch(self):
        """An equivalent float64 ``torch.nn.Module``."""
        from .io.torch import to_torch

        return to_torch(self)

    def save(self, path: Any) -> None:
        """Write exact JSON (see :mod:`polyrelu.io.jsonio`)."""
        from .io import save

        save(self, path)

    @classmethod
    def load(cls, path: Any, **kwargs: Any) -> "Network":
        """Load JSON, ONNX, TorchScript or .nnet, by extension."""
        from .io import load

        return load(path, **kwargs)


def _check_input_map(input_map: Any, d: int) -> tuple[Mat, Vec]:
    """Validate ``(A, a)`` of an input map for a layer 1 with ``d`` columns."""
    try:
        A, a = input_map
    except (TypeError, ValueError):
        raise ShapeError("input_map must be a pair (A, a)") from None
    A = to_matrix(A, "input_map A")
    a = to_vector(a, "input_map a")
    if len(A) != d or len(a) != d or not A[0]:
        raise ShapeError(f"input_map: A is {len(A)}x{len(A[0]) if A else 0} and a has "
                         f"{len(a)} entries; layer 1 has {d} columns, so A must be "
                         f"{d}xk (k >= 1) and a must have {d} entries")
    return A, a


def _split_map(Z: Any, d0: int) -> tuple[Mat, Vec]:
    """``(M, c)`` as Fractions from an augmented flint map ``[M | c]``."""
    rows = fraction_rows(Z)
    return tuple(tuple(r[:d0]) for r in rows), tuple(r[d0] for r in rows)


def _compose_first(layer: Layer, U: Mat, x0: Vec) -> Layer:
    """Layer 1 read at ``x = x0 + U t``: ``W U t + (W x0 + b)``, exactly (one
    product ``W [U | x0]``)."""
    from .linalg import matmul

    k = len(U[0])
    P = matmul(layer.W, [tuple(u) + (x,) for u, x in zip(U, x0)])
    return Layer(tuple(r[:k] for r in P), tuple(r[k] + q for r, q in zip(P, layer.b)))


def random_network(widths: Sequence[int], seed: int = 0, *,
                   denominator: int = 8, scale: int = 8,
                   skips: Mapping[int, Iterable[int]] | None = None,
                   activation: str = "relu", alpha: Any = None) -> Network:
    """A random network with small rational weights ``k / denominator``,
    ``|k| <= scale`` (for tests and examples; deterministic in ``seed``).

    >>> random_network([2, 3, 1], seed=1).widths
    (2, 3, 1)
    """
    import random

    if len(widths) < 2:
        raise NetworkError("widths needs at least an input and an output size")
    rng = random.Random(seed)

    def r() -> Fraction:
        return Fraction(rng.randint(-scale, scale), denominator)

    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers.append(([[r() for _ in range(a)] for _ in range(b)], [r() for _ in range(b)]))
    return Network.from_weights(layers, skips=skips, activation=activation, alpha=alpha)
