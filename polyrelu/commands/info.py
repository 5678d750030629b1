"""``polyrelu info MODEL``: what a model file contains.

Architecture, activation, skips, parameter count, the largest weight
denominator and the rounding error of ``--max-denominator`` (0 = exact).
"""

from __future__ import annotations

import logging

from ._common import add_model_args, emit_json, load_model

__all__ = ["add_parser", "run", "model_info"]

log = logging.getLogger(__name__)


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="architecture, activation, skips, parameter count",
                       description=__doc__)
    add_model_args(p)
    p.add_argument("--json", action="store_true",
                   help="print one JSON document on stdout (exact numbers as strings)")


def model_info(net) -> dict:
    """Summary of a network (exact values).

    >>> from polyrelu import Network
    >>> d = model_info(Network.from_weights([([[1, "1/3"]], [0]), ([[2]], [0])]))
    >>> d["architecture"], d["parameters"], d["max_denominator"]
    ('2-1-1', 5, 3)
    """
    params = sum(layer.out_dim * (layer.in_dim + 1) for layer in net.layers)
    dens = [v.denominator for layer in net.layers for row in layer.W for v in row]
    dens += [v.denominator for layer in net.layers for v in layer.b]
    imap = None
    if net.input_map is not None:
        A, a = net.input_map
        params += len(A) * (len(A[0]) + 1)
        dens += [v.denominator for row in A for v in row] + [v.denominator for v in a]
        imap = {"A": [list(row) for row in A], "a": list(a)}
    return {
        "architecture": net.architecture,
        "input_dim": net.input_dim,
        "output_dim": net.output_dim,
        "hidden_widths": list(net.hidden_widths),
        "num_layers": net.num_layers,
        "hidden_neurons": sum(net.hidden_widths),
        "activation": net.activation,
        "alpha": net.alpha,
        "skips": {str(t): list(s) for t, s in net.skips},
        "parameters": params,
        "max_denominator": max(dens),
        "rounding_error": net.rounding_error,
        "input_map": imap,
    }


def run(args) -> int:
    net = load_model(args.model, arch=args.arch, max_denominator=args.max_denominator)
    info = model_info(net)
    info["model"] = args.model or "<embedded default model>"
    if args.json:
        emit_json(info)
        return 0
    skips = ", ".join(f"{s} -> {t}" for t, src in net.skips for s in src) or "none"
    act = net.activation + (f" (alpha = {net.alpha})" if net.activation == "leaky_relu"
                            else "")
    den = info["max_denominator"]
    print(f"model:            {info['model']}")
    print(f"architecture:     {net.architecture}  (L = {net.num_layers} affine layers, "
          f"{info['hidden_neurons']} hidden neurons)")
    print(f"activation:       {act}")
    print(f"skips:            {skips}")
    if net.input_map is not None:
        A = net.input_map[0]
        print(f"input map:        x = A t + a  ({len(A)}x{len(A[0])}: the input is t, "
              f"layer 1 and the skips from 0 read x)")
    print(f"parameters:       {info['parameters']}")
    print(f"max denominator:  {den}" + (f"  (2^{den.bit_length() - 1})"
                                       if den & (den - 1) == 0 and den > 1 else ""))
    err = net.rounding_error
    print("rounding error:   " + ("0 (weights are exact)" if err == 0 else
                                  f"{err} (~{float(err):.3g}) from --max-denominator"))
    return 0
