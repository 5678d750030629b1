"""The one exception hierarchy of polyrelu.

Every error raised on bad input is a :class:`PolyreluError` subclass whose
message names the problem and the place (layer, row, file).  Nothing deep
inside cdd, torch or onnx reaches the user untranslated.
"""

from __future__ import annotations

__all__ = [
    "PolyreluError",
    "NumberError",
    "NonFiniteError",
    "ShapeError",
    "NetworkError",
    "SkipError",
    "UnsupportedLayerError",
    "ModelFileError",
    "DomainError",
    "EmptyDomainError",
    "PolyhedronError",
    "BackendError",
    "LimitReached",
    "LimitError",
]


class PolyreluError(Exception):
    """Root of every error polyrelu raises on purpose."""


class NumberError(PolyreluError, ValueError):
    """A value cannot be converted to an exact rational (wrong type, bad string)."""


class NonFiniteError(NumberError):
    """NaN or infinity where an exact rational is required."""


class ShapeError(PolyreluError, ValueError):
    """Mismatched dimensions: between layers, of an input vector, of a matrix."""


class NetworkError(PolyreluError, ValueError):
    """A network description is invalid (activation, layer list, pattern)."""


class SkipError(NetworkError):
    """A skip connection is invalid (bad indices or mismatched widths)."""


class UnsupportedLayerError(PolyreluError, TypeError):
    """A torch/ONNX layer or operator that polyrelu cannot represent exactly."""


class ModelFileError(PolyreluError, ValueError):
    """A model file is missing, malformed, truncated or of an unknown kind."""


class DomainError(PolyreluError, ValueError):
    """A domain of the wrong dimension or of an unsupported kind."""


class EmptyDomainError(DomainError):
    """The domain is empty (or not full-dimensional where that is required)."""


class PolyhedronError(PolyreluError, ValueError):
    """Invalid input to, or impossible request of, a Polyhedron."""


class BackendError(PolyreluError, RuntimeError):
    """The exact backend (cdd) failed in a way polyrelu could not recover from."""


class LimitReached(PolyreluError):
    """A limit (max regions, time) stopped a computation.

    Enumerations normally do not raise this: they stop and mark their result
    partial.  It is raised only where a partial answer would be meaningless.
    """


class LimitError(NetworkError):
    """A limit argument (``time_limit``, ``max_regions``, ...) that is not a
    valid limit: NaN, infinite, zero, negative, a boolean or not a number.
    A NetworkError, as are the other bad arguments of computations on a
    network."""
