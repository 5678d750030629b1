"""The ACAS Xu ``.nnet`` text format (Reluplex / Marabou / sisl NNet).

Layout: ``//`` header comments; a line ``numLayers, inputSize, outputSize,
maxLayerSize``; the layer sizes (``numLayers + 1`` values); a (unused)
"symmetric" flag; the input minima and maxima; the means and ranges (input
entries first, the *last* entry is the output's); then, per layer, the weight
rows and the biases.  Numbers are read as exact decimals (``"5.4e-02"`` is
27/500), not via floats.

Normalisation.  The .nnet network evaluates
``y = range_out * N((clip(x, min, max) - mean) / range) + mean_out``.
:func:`read_nnet` folds the affine parts exactly into the first and last
layers (``W_1 diag(1/range)``, bias ``b_1 - W_1 diag(1/range) mean``;
``range_out W_L``, ``range_out b_L + mean_out``).  The clipping is *not*
piecewise-linear-representable inside our model without extra layers, so the
loaded network **equals the .nnet network on the input box [min, max]** (and
extends it affinely-in-the-first-layer outside).  The box is returned by
:func:`read_nnet` as the ``input_box`` of its :class:`NNetInfo`.

Some ACAS Xu files (e.g. ``ACASXU_run2a_*``) carry the normalisation of all
seven ACAS Xu variables while the network uses five inputs: the min/max lines
have 7 entries, the mean/range lines 8.  As in the sisl NNet reader the first
``inputSize`` entries belong to the inputs and the last mean/range entry to
the output.

>>> import os, tempfile
>>> text = ("// toy\\n1,2,1,2,\\n2,1,\\n0,\\n-1,-1,\\n1,1,\\n0,0,0,\\n1,1,1,\\n"
...         "0.5,-0.25,\\n0.125,\\n")
>>> p = os.path.join(tempfile.mkdtemp(), "toy.nnet")
>>> with open(p, "w") as fh:
...     _ = fh.write(text)
>>> net, info = read_nnet(p)
>>> net(["1/2", 1])
(Fraction(1, 8),)
>>> info.input_box
((Fraction(-1, 1), Fraction(-1, 1)), (Fraction(1, 1), Fraction(1, 1)))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..exceptions import ModelFileError, PolyreluError
from ..network import Network
from ..numbers import brief, to_fraction

__all__ = ["read_nnet", "load_nnet", "NNetInfo"]

Vec = tuple[Fraction, ...]

#: largest layer count or width read (ACAS Xu: 6 layers of 50)
MAX_SIZE = 2 ** 24


@dataclass(frozen=True)
class NNetInfo:
    """What a .nnet file says besides the weights.

    ``input_box`` is ``(lo, hi)``: the loaded network equals the .nnet
    network (with its input clipping) on this box.
    """

    input_box: tuple[Vec, Vec]
    input_mean: Vec
    input_range: Vec
    output_mean: Fraction
    output_range: Fraction
    layer_sizes: tuple[int, ...]
    header: tuple[str, ...]


def _tokens(line: str) -> list[str]:
    return [t for t in (s.strip() for s in line.split(",")) if t]


def read_nnet(path: Any, normalize_input: bool = True, normalize_output: bool = True,
              max_denominator: int | None = None) -> tuple[Network, NNetInfo]:
    """Read a .nnet file: ``(net, info)``.

    Parameters
    ----------
    path : str or path-like
    normalize_input, normalize_output : bool
        Fold the input normalisation / output de-normalisation into the first
        / last layer (default both, see the module docstring).  With both
        False the result is the raw network on normalised coordinates.
    max_denominator : int, optional
        Round the (folded) weights; the change is in ``net.rounding_error``.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            raw = fh.read().splitlines()
    except FileNotFoundError:
        raise ModelFileError(f"model file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{path}: cannot read: {e}") from None

    header = []
    lines: list[tuple[int, str]] = []
    for no, text in enumerate(raw, start=1):
        s = text.strip()
        if not s:
            continue
        if s.startswith("//"):
            if not lines:
                header.append(s[2:].strip())
            continue
        lines.append((no, s))
    pos = 0

    def next_line(what: str) -> tuple[int, list[str]]:
        nonlocal pos
        if pos >= len(lines):
            last = lines[-1][0] if lines else len(raw)
            raise ModelFileError(f"{path}: truncated: the file ends after line {last}; "
                                 f"expected {what}")
        no, s = lines[pos]
        pos += 1
        return no, _tokens(s)

    def nums(no: int, toks: list[str], what: str) -> list[Fraction]:
        out = []
        for i, t in enumerate(toks):
            try:
                out.append(to_fraction(t, f"{what}, entry {i}"))
            except PolyreluError as e:
                raise ModelFileError(f"{path}, line {no}: {e}") from None
        return out

    def ints(no: int, toks: list[str], what: str) -> list[int]:
        vals = nums(no, toks, what)
        if any(v.denominator != 1 or v < 1 for v in vals):
            raise ModelFileError(f"{path}, line {no}: {what} must be positive integers, "
                                 f"got {', '.join(brief(t, 20) for t in toks[:8])}"
                                 + (", ..." if len(toks) > 8 else ""))
        return [int(v) for v in vals]

    no, toks = next_line("the sizes line 'numLayers,inputSize,outputSize,maxLayerSize'")
    sizes = ints(no, toks, "the sizes line")
    if len(sizes) < 3:
        raise ModelFileError(f"{path}, line {no}: the sizes line needs numLayers, "
                             f"inputSize, outputSize, maxLayerSize")
    if any(v > MAX_SIZE for v in sizes):
        raise ModelFileError(f"{path}, line {no}: a size of "
                             f"{brief(max(sizes))} is beyond {MAX_SIZE} (a damaged file?)")
    n_layers, d_in, d_out = sizes[0], sizes[1], sizes[2]
    no, toks = next_line(f"the {brief(n_layers + 1)} layer sizes")
    layer_sizes = ints(no, toks, "layer sizes")
    if len(layer_sizes) != n_layers + 1:
        raise ModelFileError(f"{path}, line {no}: expected {brief(n_layers + 1)} layer sizes "
                             f"(numLayers + 1), found {len(layer_sizes)}")
    if any(v > MAX_SIZE for v in layer_sizes):
        raise ModelFileError(f"{path}, line {no}: a layer size of "
                             f"{brief(max(layer_sizes))} is beyond {MAX_SIZE} (a damaged "
                             f"file?)")
    if layer_sizes[0] != d_in or layer_sizes[-1] != d_out:
        raise ModelFileError(f"{path}, line {no}: layer sizes "
                             f"[{', '.join(brief(v, 12) for v in layer_sizes[:8])}"
                             f"{', ...' if len(layer_sizes) > 8 else ''}] do not start with "
                             f"inputSize {brief(d_in)} and end with outputSize "
                             f"{brief(d_out)}")
    next_line("the symmetric flag")
    stats = []
    for what, need in (("input minima", d_in), ("input maxima", d_in),
                       ("means", d_in + 1), ("ranges", d_in + 1)):
        no, toks = next_line(f"the {what} line")
        vals = nums(no, toks, what)
        if len(vals) < need:
            raise ModelFileError(f"{path}, line {no}: the {what} line has {len(vals)} "
                                 f"values, expected at least {need}")
        stats.append((no, vals))
    lo = tuple(stats[0][1][:d_in])
    hi = tuple(stats[1][1][:d_in])
    mean = tuple(stats[2][1][:d_in])
    rng = tuple(stats[3][1][:d_in])
    mean_out, range_out = stats[2][1][-1], stats[3][1][-1]
    for i, (a, b) in enumerate(zip(lo, hi)):
        if a > b:
            raise ModelFileError(f"{path}, line {stats[0][0]}: input {i} has minimum "
                                 f"{brief(a)} above its maximum {brief(b)}")
    if normalize_input and any(r == 0 for r in rng):
        raise ModelFileError(f"{path}, line {stats[3][0]}: an input range is zero")

    # Body: a token stream (row structure is not trusted, counts are).
    stream: list[tuple[int, str]] = []
    for no, s in lines[pos:]:
        stream.extend((no, t) for t in _tokens(s))
    tpos = 0
    last_line = lines[-1][0] if lines else 0

    def take(n: int, what: str) -> list[Fraction]:
        nonlocal tpos
        if tpos + n > len(stream):
            raise ModelFileError(
                f"{path}: truncated: {what} needs {n} numbers but the file ends at line "
                f"{last_line} after {len(stream) - tpos}")
        out = []
        for no, t in stream[tpos:tpos + n]:
            try:
                out.append(to_fraction(t, what))
            except PolyreluError as e:
                raise ModelFileError(f"{path}, line {no}: {e}") from None
        tpos += n
        return out

    layers = []
    for l in range(1, n_layers + 1):
        n_in, n_out = layer_sizes[l - 1], layer_sizes[l]
        W = [take(n_in, f"layer {l} weight row {r}") for r in range(n_out)]
        bias = take(n_out, f"layer {l} biases")
        layers.append((W, bias))
    if tpos != len(stream):
        no = stream[tpos][0]
        raise ModelFileError(f"{path}, line {no}: {len(stream) - tpos} unexpected extra "
                             f"numbers after the last layer")

    if normalize_input:
        # x_norm = (x - mean) / range  =>  W1 x_norm + b1 = W1' x + b1'
        W1, b1 = layers[0]
        W1n = [[w / r for w, r in zip(row, rng)] for row in W1]
        b1n = [bi - sum((w * m for w, m in zip(row, mean)), Fraction(0))
               for row, bi in zip(W1n, b1)]
        layers[0] = (W1n, b1n)
    if normalize_output:
        WL, bL = layers[-1]
        layers[-1] = ([[range_out * w for w in row] for row in WL],
                      [range_out * bi + mean_out for bi in bL])
    try:
        net = Network.from_weights(layers, max_denominator=max_denominator)
    except PolyreluError as e:
        raise ModelFileError(f"{path}: {e}") from None
    info = NNetInfo((lo, hi), mean, rng, mean_out, range_out, tuple(layer_sizes),
                    tuple(header))
    return net, info


def load_nnet(path: Any, max_denominator: int | None = None) -> Network:
    """The network of a .nnet file with its normalisation folded in (see
    :func:`read_nnet`; it equals the file's network on ``info.input_box``)."""
    return read_nnet(path, max_denominator=max_denominator)[0]
