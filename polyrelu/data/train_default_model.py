"""Train the embedded demo network (polyrelu/data/default_model.json).

A 2-8-8-1 ReLU network is fitted, with ``torch.manual_seed(0)``, to Joyce &
Verschelde's phi_2 (their eq. 56, section 5):

    phi_2(x, y) = sin(sqrt(x^2 + y^2)) / sqrt(x^2 + y^2)      (= 1 at the origin)

on [-10, 10]^2 sampled on a uniform grid (J&V use step 0.1 and 20,000 Adam
epochs with lr 0.01; we use step 0.2 and a short full-batch Adam run so that
training takes a few seconds -- the network is a demo, not a benchmark).  The
extracted PDF text prints eq. 56 as "sin(sqrt x2 + y2) / sqrt x2 + y2"; the
reading above (the radial sinc) is the only one where both square roots
cover x^2 + y^2, and matches the circular contours of their Fig. 2.

The trained float32 weights are converted *exactly* (every float is a dyadic
rational) with ``Network.from_torch`` and written as exact JSON.  The script
ships with the model (package data next to ``default_model.json``).  With one
CPU thread a run is deterministic on one machine (about 10 s), but not across
CPUs: the summation order of torch's float32 kernels differs between them and
the training amplifies a last-bit difference, so a retrained file has weights
close to, not equal to, the shipped ones (``tests/test_io.py`` checks a
relative distance of at most 0.25 per layer and a similar final MSE).

Usage::

    # rewrite polyrelu/data/default_model.json:
    python polyrelu/data/train_default_model.py
    # short run, writes DIR/default_model.json:
    python polyrelu/data/train_default_model.py --quick --out DIR

(``examples/train_default_model.py`` runs this script.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent          # polyrelu/data
sys.path.insert(0, str(HERE.parent.parent))     # the checkout (or site-packages)

DEFAULT_OUT = HERE


def phi2(x, y):
    """J&V eq. 56, the radial sinc (value 1 at the origin)."""
    import torch

    r = torch.sqrt(x * x + y * y)
    safe = torch.where(r > 0, r, torch.ones_like(r))
    return torch.where(r > 0, torch.sin(safe) / safe, torch.ones_like(r))


def train(epochs: int, step: float = 0.2, seed: int = 0):
    import torch

    torch.manual_seed(seed)
    n = int(round(20 / step)) + 1
    g = torch.linspace(-10, 10, n)
    X, Y = torch.meshgrid(g, g, indexing="ij")
    inputs = torch.stack([X.reshape(-1), Y.reshape(-1)], dim=1)
    target = phi2(inputs[:, 0], inputs[:, 1]).unsqueeze(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 8), torch.nn.ReLU(),
        torch.nn.Linear(8, 8), torch.nn.ReLU(),
        torch.nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss = None
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.mean((model(inputs) - target) ** 2)
        loss.backward()
        opt.step()
    if loss is None:  # range(epochs) was empty: nothing was trained
        raise ValueError(f"train: epochs must be at least 1, got {epochs}")
    return model.eval(), float(loss.detach()), len(inputs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few epochs only")
    ap.add_argument("--out", default=None,
                    help=f"output directory (default {DEFAULT_OUT})")
    ap.add_argument("--epochs", type=int, default=None)
    args = ap.parse_args(argv)
    epochs = args.epochs or (50 if args.quick else 4000)
    out_dir = Path(args.out) if args.out else DEFAULT_OUT
    os.makedirs(out_dir, exist_ok=True)

    import torch

    from polyrelu import Network
    from polyrelu.io.jsonio import save_json

    torch.set_num_threads(1)         # reproducible and polite on a shared CPU
    t0 = time.perf_counter()
    model, loss, n = train(epochs)
    net = Network.from_torch(model)  # exact: float32 -> dyadic rationals
    path = out_dir / "default_model.json"
    save_json(net, path, metadata={
        "description": "2-8-8-1 ReLU net fitted to J&V phi_2(x,y) = "
                       "sin(sqrt(x^2+y^2))/sqrt(x^2+y^2) on [-10,10]^2",
        "trained_by": "polyrelu/data/train_default_model.py",
        "seed": 0, "epochs": epochs, "grid_points": n,
        "final_mse": repr(loss)})
    # Check the conversion: exact evaluation equals the float64 forward pass of
    # the same float32 weights up to float64 rounding.
    x = torch.tensor([[1.5, -2.25]], dtype=torch.float64)
    with torch.no_grad():
        f = float(model.double()(x)[0, 0])
    e = float(net([1.5, -2.25])[0])
    print(f"trained {net!r} for {epochs} epochs on {n} grid points in "
          f"{time.perf_counter() - t0:.1f} s, final MSE {loss:.5f}")
    print(f"exact net(1.5, -2.25) = {e!r}; torch float64 = {f!r}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
