"""Exact JSON model files.

The format is schema-versioned and stores every weight as an exact rational
string (``"-3/4"``, ``"2"``), so a save/load round trip is the identity::

    {"format": "polyrelu-network", "version": 1,
     "architecture": "2-8-8-1", "activation": "relu", "alpha": "0",
     "layers": [{"W": [["3/4", "-1"], ...], "b": ["0", ...]}, ...],
     "skips": {"3": [1]}}

``skips`` maps a target layer (as a string key, JSON objects have string keys)
to its source layers; ``architecture`` is informative and checked on load.
``rounding_error`` (written when ``max_denominator`` rounding changed the
weights) is read back into ``net.rounding_error``.  A network with an input
map (:meth:`~polyrelu.network.Network.restrict` of a net with skips from the
input) is written as version 2 with ``"input_map": {"A": [[...]], "a": [...]}``
so that a reader of version 1 refuses it instead of ignoring the key; other
networks are written as version 1.  ``"metadata"`` is free-form; any other
key that is not part of the format (a misspelled ``"aLpha"`` would otherwise
leave the default slope in place) is an error naming the key.

Numbers: strings are the canonical form.  JSON *numbers* are text too, so
:func:`loads` / :func:`load_json` read a non-integer number as its exact
decimal value -- ``0.1`` and ``"0.1"`` both mean 1/10 (not the binary float
nearest to 0.1), and ``1e400`` is 10^400.  ``NaN`` / ``Infinity`` are refused.
(:func:`from_json_dict` takes an already parsed document: a Python float in it
is converted exactly as a float, like everywhere else in polyrelu.)

>>> from polyrelu import Network
>>> net = Network.from_weights([([[1, "-1/2"]], [0]), ([[3]], ["1/3"])])
>>> d = to_json_dict(net)
>>> d["layers"][0]["W"]
[['1', '-1/2']]
>>> from_json_dict(d) == net
True
"""

from __future__ import annotations

import dataclasses
import json
import os
from fractions import Fraction
from typing import Any

from ..exceptions import ModelFileError, PolyreluError
from ..network import ACTIVATIONS, Network
from ..numbers import brief, fraction_str, int_from_str, to_fraction

__all__ = ["FORMAT", "VERSION", "to_json_dict", "from_json_dict", "save_json",
           "load_json", "dumps", "loads"]

FORMAT = "polyrelu-network"
#: newest format version read and written (2 = with an input map)
VERSION = 2
#: the keys of a network document and of a layer object
KEYS = ("format", "version", "architecture", "activation", "alpha", "layers", "skips",
        "input_map", "rounding_error", "metadata")
LAYER_KEYS = ("W", "b")


def _unknown_keys(obj: dict, known: tuple, where: str) -> str | None:
    """The message for the first key of ``obj`` not in ``known``, or None."""
    import difflib

    for key in obj:
        if key not in known:
            lower = {k.lower(): k for k in known}
            close = difflib.get_close_matches(str(key).lower(), lower, n=1, cutoff=0.6)
            hint = f"; did you mean {lower[close[0]]!r}?" if close else ""
            return (f"{where}unknown key {key!r} (the keys are "
                    f"{', '.join(repr(k) for k in known)}){hint}")
    return None


def to_json_dict(net: Network, metadata: dict | None = None) -> dict:
    """The JSON document of ``net`` (exact rationals as strings).

    >>> from polyrelu import Network
    >>> to_json_dict(Network.from_weights([([[2]], ["1/2"])]))["layers"]
    [{'W': [['2']], 'b': ['1/2']}]
    """
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": 1 if net.input_map is None else 2,
        "architecture": net.architecture,
        "activation": net.activation,
        "alpha": fraction_str(net.alpha),
        "layers": [{"W": [[fraction_str(v) for v in row] for row in layer.W],
                    "b": [fraction_str(v) for v in layer.b]}
                   for layer in net.layers],
        "skips": {str(t): list(s) for t, s in net.skips},
    }
    if net.input_map is not None:
        A, a = net.input_map
        doc["input_map"] = {"A": [[fraction_str(v) for v in row] for row in A],
                            "a": [fraction_str(v) for v in a]}
    if net.rounding_error:
        doc["rounding_error"] = fraction_str(net.rounding_error)
    if metadata:
        doc["metadata"] = metadata
    return doc


def _num(value: Any, where: str) -> Fraction:
    # JSON numbers are accepted too (loads() parses their text as exact
    # decimals); strings are the canonical form.  Booleans and nulls are
    # rejected by to_fraction, "nan"/"inf" raise NonFiniteError.
    return to_fraction(value, where)


def _matrix(M: Any, where: str, fail) -> list:
    if not isinstance(M, list) or not M:
        raise fail(f"{where} must be a non-empty list of rows")
    rows = []
    for r, row in enumerate(M):
        if not isinstance(row, list):
            raise fail(f"{where} row {r}: expected a list of numbers")
        rows.append([_num(v, f"{where} row {r}, column {c}") for c, v in enumerate(row)])
    return rows


def from_json_dict(doc: Any, source: str = "<json>",
                   max_denominator: int | None = None) -> Network:
    """Validate a JSON document and build the :class:`~polyrelu.network.Network`.

    Every problem raises :class:`~polyrelu.exceptions.ModelFileError` naming
    ``source`` and the place (layer, row, entry).

    >>> from_json_dict({"format": "polyrelu-network", "version": 1,
    ...                 "layers": [{"W": [["1", "2"]], "b": ["0"]}]})
    Network(2-1, relu)
    """
    def fail(msg: str) -> ModelFileError:
        return ModelFileError(f"{source}: {msg}")

    if not isinstance(doc, dict):
        raise fail(f"expected a JSON object, got {type(doc).__name__}")
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise fail(f"not a polyrelu network file (format is {brief(fmt)}, expected "
                   f"{FORMAT!r})")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise fail(f"'version' must be an integer, got {brief(version)}")
    if version > VERSION or version < 1:
        raise fail(f"unsupported format version {brief(version)} (this polyrelu reads "
                   f"versions 1 to {VERSION})")
    bad = _unknown_keys(doc, KEYS, "")
    if bad:
        raise fail(bad)
    activation = doc.get("activation", "relu")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise fail(f"'activation' must be one of {', '.join(ACTIVATIONS)}, got "
                   f"{brief(activation)}")
    layers_doc = doc.get("layers")
    if not isinstance(layers_doc, list) or not layers_doc:
        raise fail("'layers' must be a non-empty list of {\"W\": ..., \"b\": ...}")
    layers = []
    try:
        for l, layer in enumerate(layers_doc, start=1):
            bad = _unknown_keys(layer, LAYER_KEYS, f"layer {l}: ") \
                if isinstance(layer, dict) else None
            if bad:
                raise fail(bad)
            if not isinstance(layer, dict) or "W" not in layer or "b" not in layer:
                raise fail(f"layer {l}: expected an object with keys 'W' and 'b'")
            W, b = layer["W"], layer["b"]
            if not isinstance(W, list) or not W:
                raise fail(f"layer {l}: 'W' must be a non-empty list of rows")
            rows = _matrix(W, f"layer {l}, W", fail)
            if not isinstance(b, list):
                raise fail(f"layer {l}: 'b' must be a list of numbers")
            bias = [_num(v, f"layer {l}, b entry {i}") for i, v in enumerate(b)]
            layers.append((rows, bias))
        skips_doc = doc.get("skips") or {}
        if not isinstance(skips_doc, dict):
            raise fail("'skips' must be an object {\"target\": [sources]}")
        skips = {}
        for t, s in skips_doc.items():
            if not isinstance(s, list) or not all(
                    isinstance(k, int) and not isinstance(k, bool) for k in s):
                raise fail(f"skips[{brief(t)}] must be a list of integer layer indices")
            if not (t.isascii() and t.isdigit() and len(t) < 10):
                raise fail(f"skip target {brief(t)} is not a layer index")
            # indices checked here (Network checks them too) so that a huge
            # number is named briefly
            L = len(layers)
            if not 2 <= int(t) <= L or any(not 0 <= k < L for k in s):
                raise fail(f"skips[{brief(t)}] = [{', '.join(brief(k, 12) for k in s[:6])}"
                           f"{', ...' if len(s) > 6 else ''}]: a skip goes from a layer "
                           f"0..{L - 1} (0 = the input) to a target layer 2..{L}")
            skips[int(t)] = s
        alpha = doc.get("alpha")
        if alpha is not None:
            alpha = _num(alpha, "alpha")
            if activation != "leaky_relu" and alpha == 0:
                alpha = None
        imap = None
        if "input_map" in doc:
            if version < 2:
                raise fail(f"version {version} files have no 'input_map' (it needs "
                           f"version 2)")
            im = doc["input_map"]
            if not isinstance(im, dict) or set(im) != {"A", "a"} or \
                    not isinstance(im["a"], list):
                raise fail("'input_map' must be {\"A\": [[...]], \"a\": [...]}")
            imap = (_matrix(im["A"], "input_map A", fail),
                    [_num(v, f"input_map a entry {i}") for i, v in enumerate(im["a"])])
        recorded = Fraction(0)
        if "rounding_error" in doc:
            r = doc["rounding_error"]
            if not isinstance(r, (str, int, float, Fraction)) or isinstance(r, bool):
                raise fail(f"'rounding_error' must be a rational number, got {brief(r)}")
            recorded = _num(r, "rounding_error")
            if recorded < 0:
                raise fail(f"'rounding_error' must not be negative, got {brief(r)}")
        net = Network.from_weights(layers, skips=skips, activation=activation,
                                   alpha=alpha, max_denominator=max_denominator,
                                   input_map=imap)
        if recorded:
            # Rounding again on load: each weight moved by at most the recorded
            # change plus the new one (triangle inequality).
            net = dataclasses.replace(net, rounding_error=recorded + net.rounding_error)
    except ModelFileError:
        raise
    except PolyreluError as e:
        raise ModelFileError(f"{source}: {e}") from None
    arch = doc.get("architecture")
    if arch is not None and arch != net.architecture:
        raise fail(f"'architecture' says {brief(arch)} but the weights have shape "
                   f"{net.architecture}")
    return net


def dumps(net: Network, metadata: dict | None = None) -> str:
    """JSON text of ``net``: one weight row per line (readable diffs).

    >>> from polyrelu import Network
    >>> print(dumps(Network.from_weights([([[1, "-1/2"]], [0])])))  # doctest: +ELLIPSIS
    {
     "format": "polyrelu-network",
     ...
     "layers": [
      {"W": [
        ["1", "-1/2"]
       ],
       "b": ["0"]}
     ],
     "skips": {}
    }
    """
    doc = to_json_dict(net, metadata)
    parts = []
    for key, value in doc.items():
        if key != "layers":
            parts.append(f" {json.dumps(key)}: {json.dumps(value)}")
            continue
        layers = []
        for layer in value:
            rows = ",\n".join(f"    {json.dumps(r)}" for r in layer["W"])
            layers.append(f'  {{"W": [\n{rows}\n   ],\n   "b": {json.dumps(layer["b"])}}}')
        parts.append(' "layers": [\n' + ",\n".join(layers) + "\n ]")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def loads(text: str, source: str = "<json>",
          max_denominator: int | None = None) -> Network:
    """Parse JSON text (errors name ``source`` and the JSON error position)."""
    try:
        # Non-integer JSON numbers are decimal text: read them exactly (the
        # module docstring), not through a binary float.
        doc = json.loads(text, parse_float=to_fraction, parse_int=int_from_str)
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{source}: malformed or truncated JSON: {e.msg} at "
                             f"line {e.lineno}, column {e.colno} (char {e.pos})"
                             ) from None
    except RecursionError:
        raise ModelFileError(f"{source}: the JSON document is nested too deeply to be "
                             f"a polyrelu network file") from None
    except PolyreluError as e:   # a number parse_float could not read
        raise ModelFileError(f"{source}: {e}") from None
    except ValueError as e:      # e.g. an integer beyond Python's digit limit
        raise ModelFileError(f"{source}: cannot read a number: {e}") from None
    return from_json_dict(doc, source=source, max_denominator=max_denominator)


def save_json(net: Network, path: Any, metadata: dict | None = None) -> None:
    """Write ``net`` as exact JSON to ``path``."""
    path = os.fspath(path)
    text = dumps(net, metadata)
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as e:
        raise ModelFileError(f"{path}: cannot write: {e.strerror or e}") from None


def load_json(path: Any, max_denominator: int | None = None) -> Network:
    """Read an exact JSON model file.

    >>> import tempfile, os
    >>> from polyrelu import Network
    >>> net = Network.from_weights([([[1, -1]], [0]), ([["2/3"]], [1])])
    >>> p = os.path.join(tempfile.mkdtemp(), "net.json")
    >>> save_json(net, p)
    >>> load_json(p) == net
    True
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise ModelFileError(f"model file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{path}: cannot read: {e}") from None
    return loads(text, source=path, max_denominator=max_denominator)
