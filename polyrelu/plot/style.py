"""One figure style for every polyrelu plot: fonts, line widths, palettes and
how figures are saved (PNG, SVG or PDF).

Every drawing function of :mod:`polyrelu.plot` and every plotting command
draws under :func:`paper_style` and saves through :func:`save_figure`, so
that the figures of one paper look alike: 8-9 pt sans-serif text (the size
of a caption at print size, figures being 3.3-7 inches wide, one or two
columns), thin axes, a tight bounding box, fonts embedded as TrueType in
PDF (some publishers refuse Type 3 fonts) and kept as text in SVG (editable),
and no timestamps in SVG or PDF files (the same figure gives the same bytes).

Examples
--------
>>> import matplotlib; matplotlib.use("Agg")
>>> from polyrelu.plot.style import new_figure, save_figure
>>> fig, ax = new_figure(size=(3.3, 2.5))
>>> _ = ax.plot([0, 1], [0, 1])
>>> import tempfile, os
>>> path = save_figure(fig, os.path.join(tempfile.mkdtemp(), "line.svg"))
>>> path.endswith("line.svg"), open(path).read().count("<svg") == 1
(True, True)
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import Any, Callable, Iterator, Optional, TypeVar

from ..exceptions import PolyreluError

__all__ = [
    "FORMATS",
    "DEFAULT_DPI",
    "RC",
    "ORDER_COLORS",
    "LAYER_COLORS",
    "REGION_COLORS",
    "order_color",
    "layer_color",
    "fill_colors",
    "paper_style",
    "styled",
    "new_figure",
    "legend_outside",
    "coordinate_label",
    "figure_path",
    "save_figure",
]

#: file formats every plotting command writes (``--format``)
FORMATS = ("png", "svg", "pdf")

#: resolution of PNG files when none is asked for (``--dpi``), sharp in print
#: at the figures' sizes; SVG and PDF are vector files (dpi only matters for
#: the few rasterised artists, e.g. Gouraud-shaded regions)
DEFAULT_DPI = 200

#: matplotlib settings of the polyrelu style (:func:`paper_style`)
RC: dict = {
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "figure.titlesize": 10,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "axes.linewidth": 0.6,
    "axes.titlepad": 4.0,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "lines.linewidth": 1.2,
    "lines.markersize": 4.0,
    "patch.linewidth": 0.5,
    "image.cmap": "viridis",
    "figure.dpi": 100,
    "figure.constrained_layout.use": False,
    "savefig.dpi": DEFAULT_DPI,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    # text stays text in SVG (editable, searchable); TrueType (42) instead of
    # Type 3 fonts in PDF and PostScript
    "svg.fonttype": "none",
    # fixed ids in SVG files (the default salt is random)
    "svg.hashsalt": "polyrelu",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
}

#: colours by canonical order or network layer (blue, orange, black as in
#: P&L Figure 1, then more)
ORDER_COLORS = ("#1f77b4", "#ff7f0e", "#000000", "#2ca02c", "#9467bd", "#8c564b",
                "#e377c2", "#17becf")

#: boundary colours per hidden layer (layer 1 first)
LAYER_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                "#e377c2", "#17becf")

#: light fill colours for regions, told apart in print and by most colour-blind
#: readers (a light Okabe-Ito / Tol set); the colouring of a region map
#: (:func:`polyrelu.plot.regions.region_coloring`) needs 4-6 of them
REGION_COLORS = ("#a6cee3", "#fdbf6f", "#b2df8a", "#fb9a99", "#cab2d6", "#ffff99",
                 "#8dd3c7", "#fccde5", "#d9d9d9", "#bebada", "#80b1d3", "#ccebc5")


def order_color(k: int) -> str:
    """Colour of canonical order / layer ``k`` (1-based).

    >>> order_color(1), order_color(9) == order_color(1)
    ('#1f77b4', True)
    """
    return ORDER_COLORS[(k - 1) % len(ORDER_COLORS)]


def layer_color(k: int) -> str:
    """Boundary colour of hidden layer ``k`` (1-based).

    >>> layer_color(1)
    '#d62728'
    """
    return LAYER_COLORS[(k - 1) % len(LAYER_COLORS)]


def fill_colors(n: int) -> list:
    """``n`` distinct light fill colours (RGB tuples): :data:`REGION_COLORS`
    first, then light hues spaced by the golden ratio.

    >>> len(set(fill_colors(40)))
    40
    """
    import colorsys

    from matplotlib.colors import to_rgb

    out = [to_rgb(c) for c in REGION_COLORS[:n]]
    i = 0
    while len(out) < n:
        h = (0.13 + i * 0.6180339887) % 1.0
        out.append(colorsys.hsv_to_rgb(h, 0.28 + 0.22 * ((i * 7) % 5) / 4,
                                       0.86 + 0.12 * ((i * 3) % 4) / 3))
        i += 1
    return out


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """Draw inside this block in the polyrelu style (:data:`RC`); matplotlib's
    settings are restored after it.

    >>> import matplotlib
    >>> with paper_style():
    ...     matplotlib.rcParams["font.size"]
    9.0
    """
    import matplotlib

    with matplotlib.rc_context(RC):
        yield


F = TypeVar("F", bound=Callable[..., Any])


def styled(func: F) -> F:
    """Decorator: run a drawing function under :func:`paper_style`."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with paper_style():
            return func(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def new_figure(nrows: int = 1, ncols: int = 1, *, size: tuple = (4.5, 4.0),
               **kwargs: Any):
    """``matplotlib.pyplot.subplots`` in the polyrelu style: ``(fig, axes)``.

    ``size`` is in inches (a one-column figure is about 3.3 inches wide, a
    two-column one about 7).  Extra keywords go to ``subplots``.
    """
    import matplotlib.pyplot as plt

    with paper_style():
        return plt.subplots(nrows, ncols, figsize=size, **kwargs)


def coordinate_label(i: Optional[int] = None, sliced: bool = False) -> str:
    """The axis label of input coordinate ``i`` (1-based; None: the one
    coordinate of a 1-D plot) in every polyrelu figure: ``$x_1$``, or ``$t_1$``
    for the parameters of a slice ``x = x0 + U t``.

    >>> coordinate_label(2), coordinate_label(1, sliced=True), coordinate_label()
    ('$x_2$', '$t_1$', '$x$')
    """
    v = "t" if sliced else "x"
    return f"${v}$" if i is None else f"${v}_{{{i}}}$" if i > 9 else f"${v}_{i}$"


def legend_outside(ax, handles=None, **kwargs: Any):
    """A legend beside the axes, right of them (maps and fold sets keep their
    whole drawing visible; ``savefig`` with the style's tight bounding box
    keeps the legend in the file)."""
    kw = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0,
          "handlelength": 1.5}
    kw.update(kwargs)
    if handles is not None:
        kw["handles"] = handles
    return ax.legend(**kw)


def figure_path(folder: str, stem: str, format: str = "png") -> str:
    """``folder/stem.format`` after checking the format.

    >>> figure_path("out", "folds", "svg")
    'out/folds.svg'
    """
    if format not in FORMATS:
        raise PolyreluError(f"figure format {format!r}: use one of {', '.join(FORMATS)}")
    return os.path.join(folder, f"{stem}.{format}")


def save_figure(fig, path: Any, *, format: Optional[str] = None,
                dpi: Optional[int] = None, close: bool = True) -> str:
    """Save ``fig`` in the polyrelu style and return the path.

    Parameters
    ----------
    fig
        The matplotlib figure.
    path : str or os.PathLike
        Where to write.  Without ``format`` the suffix names it.
    format : {"png", "svg", "pdf"}, optional
        The file format (``path`` may then be a temporary name).
    dpi : int, optional
        Resolution; default :data:`DEFAULT_DPI`.
    close : bool
        Close the figure afterwards (free its memory).
    """
    import matplotlib.pyplot as plt

    path = os.fspath(path)
    fmt = format or os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise PolyreluError(f"figure format {fmt!r} of {path}: use one of "
                            f"{', '.join(FORMATS)}")
    from .. import __version__

    # reproducible files: no creation dates in SVG and PDF
    meta: dict = {"Creator": f"polyrelu {__version__}"} if fmt != "png" else \
        {"Software": f"polyrelu {__version__} (matplotlib)"}
    if fmt == "svg":
        meta["Date"] = None
    elif fmt == "pdf":
        meta["CreationDate"] = None
        meta["ModDate"] = None
    with paper_style():
        fig.savefig(path, format=fmt, dpi=dpi or DEFAULT_DPI, metadata=meta)
    if close:
        plt.close(fig)
    return path
