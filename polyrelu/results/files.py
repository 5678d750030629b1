"""Writing and reading result files (the format of :mod:`polyrelu.check`).

* :class:`PartitionWriter` / :func:`write_partition` -- JSON Lines, streamed:
  a header line, then one record per region as it is found; the header's
  ``status`` (count, ``partial``, ``reason``) is rewritten in place when the
  writer closes, and the file appears under its name only then (a temporary
  name and ``os.replace``), so a limit or an interrupt leaves a complete
  file marked partial and a crash leaves no file at all.
* :func:`write_region` -- one region (``polyrelu regions --at``).
* :func:`write_equivalence` -- a verdict of :func:`polyrelu.equivalent` with
  its certificate or counterexample.
* :func:`load_result` -- reads any of them (and network files) back.

>>> import os, tempfile, polyrelu as pr
>>> net = pr.Network.from_weights([([[1, -1], [1, 1]], [0, -1]), ([[1, 2]], [0])])
>>> box = pr.Polyhedron.box([-2, -2], [2, 2])
>>> path = os.path.join(tempfile.mkdtemp(), "regions.jsonl")
>>> write_partition(path, net, pr.regions(net, box), box)
4
>>> res = load_result(path)
>>> len(res.regions), res.partial, res.network == net
(4, False, True)
>>> from polyrelu.check import check_file
>>> check_file(path).code
0
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterable, Optional

from .. import check as _ck
from ..exceptions import ModelFileError, PolyreluError
from ..numbers import fraction_str, to_fraction
from .records import RecordBuilder, domain_doc, network_doc

__all__ = ["PartitionResult", "RegionResult", "EquivalenceRecord", "PartitionWriter",
           "write_partition", "write_region", "write_equivalence", "load_result",
           "ResultFileError"]

# room for the final status in the header line (rewritten in place)
_STATUS_ROOM = 600


class ResultFileError(ModelFileError):
    """A result file that cannot be read (names the file and the record)."""


def _envelope(kind: str) -> dict:
    return {"format": _ck.FORMAT, "version": _ck.VERSION, "kind": kind,
            "kind_version": _ck.KINDS[kind]}


def _dumps(doc) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=True)


class _AtomicFile:
    """A file written under a temporary name in the target's folder and moved
    onto it with os.replace when done (never half a file under the name)."""

    def __init__(self, path: str) -> None:
        self.path = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, self.tmp = tempfile.mkstemp(prefix="." + os.path.basename(self.path) + ".",
                                        suffix=".tmp", dir=folder)
        self.fh = os.fdopen(fd, "w+", encoding="ascii", newline="\n")

    def commit(self) -> None:
        # mkstemp makes the file private; give it the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o666 & ~umask)
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self.fh.close()
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)


class PartitionWriter:
    """Stream the regions of one network and domain to a JSON Lines file.

    Parameters
    ----------
    path : str
    net : Network
    domain : None, Polyhedron or box
    explicit : bool
        Vertices as exact coordinates and the facet rows as numbers (default);
        False writes facet labels and vertex keys/bases only (smaller files,
        for large partitions: the checker recomputes the rows).
    engine : str, optional
        Recorded in the header.

    Notes
    -----
    Use it as a context manager: an exception leaves no file, an interrupt
    (KeyboardInterrupt) a file marked partial.

    Examples
    --------
    >>> import os, tempfile, polyrelu as pr
    >>> net = pr.Network.from_weights([([[1], [-1]], [0, 1]), ([[1, 1]], [0])])
    >>> path = os.path.join(tempfile.mkdtemp(), "r.jsonl")
    >>> with PartitionWriter(path, net, ([-3], [3])) as w:
    ...     for r in pr.regions(net, ([-3], [3])):
    ...         w.write(r)
    >>> load_result(path).status["regions"]
    3
    """

    def __init__(self, path, net, domain=None, *, explicit: bool = True,
                 engine: Optional[str] = None, metadata: Optional[dict] = None) -> None:
        from ..domains import as_domain

        self.domain = as_domain(domain, net.input_dim)
        self.builder = RecordBuilder(net, self.domain, explicit=explicit)
        self.count = 0
        self.closed = False
        self.head = _envelope("partition")
        self.head["network"] = self.builder.doc
        self.head["network_sha256"] = _ck.network_digest(self.builder.doc)
        self.head["domain"] = self.builder.ddoc
        self.head["engine"] = engine
        self.head["vertices"] = "explicit" if explicit else "compact"
        if metadata:
            self.head["metadata"] = metadata
        self.file = _AtomicFile(path)
        self.path = self.file.path
        line = self._header(None)
        self.file.fh.write(line + " " * _STATUS_ROOM + "\n")

    def _header(self, status) -> str:
        doc = dict(self.head)
        doc["status"] = status or {"regions": None, "partial": True,
                                   "reason": "being written"}
        return _dumps(doc)

    def write(self, region) -> None:
        """Append the record of one region."""
        self.file.fh.write(_dumps(self.builder.record(region)) + "\n")
        self.count += 1

    def close(self, partial: bool = False, reason: Optional[str] = None,
              linear_regions: Optional[int] = None) -> None:
        """Finish: rewrite the header's status and move the file into place."""
        if self.closed:
            return
        status = {"regions": self.count, "partial": bool(partial), "reason": reason,
                  "linear_regions": linear_regions}
        first = self._header(None)
        line = self._header(status)
        room = len(first) + _STATUS_ROOM
        if len(line) > room:
            status["reason"] = (reason or "")[:100] + "..."
            line = self._header(status)
        self.file.fh.seek(0)
        self.file.fh.write(line + " " * (room - len(line)))
        self.file.fh.seek(0, os.SEEK_END)
        self.file.commit()
        self.closed = True

    def __enter__(self) -> "PartitionWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close(partial=True, reason=f"interrupted after {self.count} regions")
        else:
            self.file.abort()
            self.closed = True


def write_partition(path, net, regions: Iterable, domain=None, *, explicit: bool = True,
                    linear_regions: Optional[int] = None) -> int:
    """Write the regions (e.g. the iterator of :func:`polyrelu.regions`) as a
    partition file; ``partial`` and ``reason`` are read from the iterator when it
    has them.  Returns the number of regions written."""
    engine = getattr(regions, "stats", {}).get("engine")
    with PartitionWriter(path, net, domain, explicit=explicit, engine=engine) as w:
        for r in regions:
            w.write(r)
        w.close(partial=bool(getattr(regions, "partial", False)),
                reason=getattr(regions, "reason", None), linear_regions=linear_regions)
    return w.count


def write_region(path, region, *, point=None, distance=None) -> None:
    """Write one region (with the query point and its distance to the boundary,
    a :class:`~polyrelu.trajectories.BoundaryDistance`, when given)."""
    net, domain = region.net, region.domain
    b = RecordBuilder(net, domain, explicit=True)
    doc = _envelope("region")
    doc["network"] = b.doc
    doc["network_sha256"] = _ck.network_digest(b.doc)
    doc["domain"] = b.ddoc
    doc["region"] = b.record(region)
    if point is not None:
        x = tuple(to_fraction(v, "point") for v in point)
        doc["point"] = [fraction_str(v) for v in x]
        doc["on_boundary"] = tuple(tuple(p) for p in net.pattern(x)) != region.pattern
        if distance is not None and distance.squared is not None:
            doc["distance"] = {"squared": fraction_str(distance.squared),
                               "nearest": _nearest_label(b, region, distance),
                               "foot": None if distance.foot is None else
                               [fraction_str(v) for v in distance.foot]}
    _write_json(path, doc)


def _nearest_label(b: RecordBuilder, region, distance):
    """The facet label of the nearest boundary (None if not a listed facet)."""
    rec = b.record(region)
    x = distance.foot
    if x is None:
        return None
    hx = _ck._homogeneous(tuple(x))
    pat = _ck.Pattern(b.cnet, rec["pattern"], "pattern")
    Z = b.ck.cache.maps(pat.strs)
    for lab in rec["facets"]:
        _, g, _ = b.ck._facet(lab, pat, Z, "facet")
        if sum(a * c for a, c in zip(g, hx)) == 0:
            return lab
    return None


def write_equivalence(path, f, g, result, domain=None) -> None:
    """Write a verdict of :func:`polyrelu.equivalent` with its proof."""
    from ..domains import as_domain

    dom = as_domain(domain, f.input_dim, full_dimensional=False)
    doc = _envelope("equivalence")
    fd, gd = network_doc(f), network_doc(g)
    doc["networks"] = {"f": fd, "g": gd, "f_sha256": _ck.network_digest(fd),
                       "g_sha256": _ck.network_digest(gd)}
    doc["domain"] = domain_doc(dom, f.input_dim)
    d = result.as_dict()
    doc.update({"mode": result.mode, "eps": fraction_str(result.eps),
                "verdict": d["verdict"], "stage": result.stage, "partial": result.partial,
                "message": result.message, "regions_checked": result.regions_checked,
                "timings": d["timings"]})
    if result.certificate is not None:
        proof: dict[str, Any] = {"type": "symmetry", "relates": result.certificate_for,
                                 **result.certificate.as_dict()}
        if result.certificate_for == "reduced" and result.reduced is not None:
            proof["reduced"] = {"f": network_doc(result.reduced[0]),
                                "g": network_doc(result.reduced[1])}
            if result.reductions is not None:
                proof["reductions"] = {
                    name: [{"kind": a.kind, "layer": a.layer, "units": list(a.units),
                            "into": a.into,
                            "ratio": None if a.ratio is None else fraction_str(a.ratio)}
                           for a in rep.actions]
                    for name, rep in zip("fg", result.reductions)}
    elif result.counterexample is not None:
        proof = {"type": "counterexample",
                 "point": [fraction_str(v) for v in result.counterexample]}
        if result.outputs is not None:
            proof["f"] = [fraction_str(v) for v in result.outputs[0]]
            proof["g"] = [fraction_str(v) for v in result.outputs[1]]
    else:
        proof = {"type": "none"}
    doc["proof"] = proof
    _write_json(path, doc)


def _write_json(path, doc) -> None:
    f = _AtomicFile(path)
    try:
        json.dump(doc, f.fh, indent=1, ensure_ascii=True)
        f.fh.write("\n")
        f.commit()
    except BaseException:
        f.abort()
        raise


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class PartitionResult:
    """A partition file read back: the network, the domain, the regions."""

    network: Any
    domain: Any
    regions: tuple
    status: dict
    engine: Optional[str] = None
    header: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def partial(self) -> bool:
        return bool(self.status.get("partial"))

    @property
    def reason(self):
        return self.status.get("reason")


@dataclass(frozen=True)
class RegionResult:
    """A single-region file read back."""

    network: Any
    domain: Any
    region: Any
    point: Optional[tuple] = None
    on_boundary: bool = False
    distance: Optional[dict] = None


@dataclass(frozen=True)
class EquivalenceRecord:
    """An equivalence file read back: the networks, the domain and the result."""

    f: Any
    g: Any
    domain: Any
    result: Any


def _net(doc, where):
    from ..io.jsonio import from_json_dict

    return from_json_dict(doc, source=where)


def _domain(doc, where):
    from ..polyhedron import Polyhedron

    t = doc.get("type") if isinstance(doc, dict) else None
    if t == "whole-space":
        return None
    if t == "box":
        return Polyhedron.box([to_fraction(v) for v in doc["lo"]],
                              [to_fraction(v) for v in doc["hi"]])
    if t == "polyhedron":
        return Polyhedron.from_inequalities([[to_fraction(v) for v in r] for r in doc["A"]],
                                            [to_fraction(v) for v in doc["b"]])
    raise ResultFileError(f"{where}: unknown domain {doc!r}")


def _region(rec, net, domain, where):
    from ..regions import Region

    try:
        pattern = tuple(tuple(int(c) for c in s) for s in rec["pattern"])
        point = tuple(to_fraction(v) for v in rec["point"])
        r = Region(pattern, point, net, domain)
        M = tuple(tuple(to_fraction(v) for v in row) for row in rec["map"]["M"])
        c = tuple(to_fraction(v) for v in rec["map"]["c"])
        r._cache["affine_map"] = (M, c)
        if "vertices" in rec:
            r._cache["vertices"] = tuple(tuple(to_fraction(v) for v in x)
                                         for x in rec["vertices"])
        if "inequalities" in rec:
            A = tuple(tuple(to_fraction(v) for v in row) for row in rec["inequalities"]["A"])
            b = tuple(to_fraction(v) for v in rec["inequalities"]["b"])
            r._cache["inequalities"] = (A, b)
    except (KeyError, TypeError, ValueError, PolyreluError) as e:
        raise ResultFileError(f"{where}: malformed region record ({e})") from None
    return r


def load_result(path):
    """Read any result file polyrelu writes (and network files).

    Returns a :class:`~polyrelu.network.Network`, :class:`PartitionResult`,
    :class:`RegionResult` or :class:`EquivalenceRecord`.  The file is read,
    not verified: run :func:`polyrelu.check.check_file` (or ``polyrelu check``)
    for that.

    Raises
    ------
    ResultFileError
        A missing or malformed file, another format or an unsupported version
        or kind (naming the file and the record).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            first = fh.readline()
            rest = fh.read()
    except OSError as e:
        raise ResultFileError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        try:
            head = json.loads(first)
            lines = rest.split(b"\n")
        except ValueError:
            head = None
        if not (isinstance(head, dict) and head.get("kind") == "partition"):
            head = json.loads(first + rest)
            lines = []
    except ValueError as e:
        raise ResultFileError(f"{path}: malformed or truncated JSON ({e})") from None
    if isinstance(head, dict) and head.get("format") == _ck.NETWORK_FORMAT:
        return _net(head, path)
    try:
        kind = _ck._envelope(head, f"{path}")
    except _ck.Unreadable as e:
        raise ResultFileError(str(e)) from None
    if kind == "partition":
        net = _net(head["network"], f"{path} header")
        dom = _domain(head["domain"], f"{path} header")
        regs = []
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            where = f"{path} region {i} (line {i + 2})"
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise ResultFileError(f"{where}: malformed or truncated JSON ({e})") from None
            regs.append(_region(rec, net, dom, where))
        status = dict(head.get("status") or {})
        if status.get("regions") != len(regs):
            raise ResultFileError(f"{path}: the file has {len(regs)} region records but its "
                                  f"header announces {status.get('regions')} (truncated?)")
        return PartitionResult(net, dom, tuple(regs), status, head.get("engine"), head)
    if kind == "region":
        net = _net(head["network"], f"{path}")
        dom = _domain(head["domain"], f"{path}")
        r = _region(head["region"], net, dom, f"{path} region")
        pt = head.get("point")
        return RegionResult(net, dom, r, None if pt is None else
                            tuple(to_fraction(v) for v in pt),
                            bool(head.get("on_boundary", False)), head.get("distance"))
    return _equivalence(head, path)


def _equivalence(head, path):
    from ..equivalence import Certificate, EquivalenceResult

    nets = head["networks"]
    f, g = _net(nets["f"], f"{path} f"), _net(nets["g"], f"{path} g")
    dom = _domain(head["domain"], path)
    proof = head.get("proof") or {}
    verdict = {"equivalent": True, "not equivalent": False, "undecided": None}[
        head["verdict"]]
    cert = cx = outputs = diff = None
    reduced = None
    if proof.get("type") == "symmetry":
        cert = Certificate(tuple(tuple(p) for p in proof["permutations"]),
                           tuple(tuple(to_fraction(v) for v in s) for s in proof["scalings"]))
        if "reduced" in proof:
            reduced = (_net(proof["reduced"]["f"], path), _net(proof["reduced"]["g"], path))
    elif proof.get("type") == "counterexample":
        cx = tuple(to_fraction(v) for v in proof["point"])
        if "f" in proof:
            outputs = (tuple(to_fraction(v) for v in proof["f"]),
                       tuple(to_fraction(v) for v in proof["g"]))
            diff = tuple(a - b for a, b in zip(*outputs))
    res = EquivalenceResult(verdict, head["stage"], cert, cx, outputs, diff,
                            bool(head.get("partial")), dict(head.get("timings") or {}),
                            head.get("mode", "exact"), Fraction(to_fraction(head["eps"])),
                            proof.get("relates") if cert is not None else None, reduced,
                            None, int(head.get("regions_checked", 0)),
                            head.get("message", ""))
    return EquivalenceRecord(f, g, dom, res)
