"""Torch model files are zip archives: check them before torch reads them.

TorchScript archives (``torch.jit.save``), ``torch.save`` files (a state
dict) and torch.export programs (``torch.export.save``, ``.pt2``) are zip
archives whose every member records its CRC-32.  torch's own reader does not
check those checksums, so a bit flipped in a weight loads as a different
weight -- a different network, silently (issue 19: 11 of 340 mutated files).
:func:`read_archive` reads the whole file once, checks every member's CRC-32
with ``zipfile`` (which also checks that the local headers agree with the
central directory), and hands the *checked bytes* to torch, so torch reads
exactly what was verified.  Whatever ``zipfile`` raises on a damaged
archive (``BadZipFile``, ``UnicodeDecodeError`` on a garbled name,
``NotImplementedError`` on a garbled version field, ``zlib.error``, ...) is a
:class:`~polyrelu.exceptions.ModelFileError` naming the file.

A member with CRC-32 0 whose contents have another checksum was written
without checksums (``torch.serialization.set_crc32_options(False)``): its
integrity cannot be checked, and it is refused with that reason.  A file
that is not a zip archive (the legacy ``torch.save`` format, from
``_use_new_zipfile_serialization=False``) has no checksums either and is
refused with the advice to re-save it.

>>> import io, zipfile
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as z:
...     z.writestr("m/data.pkl", b"payload")
>>> data = bytearray(buf.getvalue()); data[data.index(b"payload")] ^= 1
>>> try:
...     check_zip(bytes(data), "m.pt")
... except ModelFileError as e:
...     print(str(e).split(";")[0])
m.pt: corrupted archive: member 'm/data.pkl' fails its CRC-32 check (a changed byte)
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from dataclasses import dataclass

from ...exceptions import ModelFileError
from ._common import first_line

__all__ = ["Archive", "read_archive", "check_zip", "archive_kind"]


@dataclass(frozen=True)
class Archive:
    """A checked torch archive: its bytes, member names and kind
    (``"script"``, ``"pickle"``, ``"pt2"``)."""

    path: str
    data: bytes
    names: tuple
    kind: str

    def stream(self) -> io.BytesIO:
        return io.BytesIO(self.data)

    def member(self, name: str) -> bytes:
        with zipfile.ZipFile(self.stream()) as z:
            return z.read(name)


def _damaged(path: str, what: str) -> ModelFileError:
    return ModelFileError(f"{path}: corrupted archive: {what}; the file is damaged or "
                          f"truncated (re-save or re-download it)")


def check_zip(data: bytes, path: str) -> tuple:
    """Member names of the zip archive ``data`` after checking every member's
    CRC-32; a :class:`~polyrelu.exceptions.ModelFileError` naming ``path`` otherwise."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except Exception as e:      # BadZipFile, UnicodeDecodeError, NotImplementedError...
        raise _damaged(path, f"its zip directory cannot be read ({first_line(e)})"
                       ) from None
    try:
        with z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                dup = next(n for n in names if names.count(n) > 1)
                raise _damaged(path, f"member {dup!r} appears twice")
            for info in infos:
                if info.flag_bits & 0x1:
                    raise _damaged(path, f"member {info.filename!r} is marked encrypted")
                try:
                    with z.open(info) as f:
                        contents = f.read()
                except zipfile.BadZipFile as e:
                    if "CRC" in str(e):
                        if info.CRC == 0:
                            raise ModelFileError(
                                f"{path}: member {info.filename!r} records no CRC-32 "
                                f"(saved with torch.serialization.set_crc32_options("
                                f"False)?), so it cannot be checked for damage; re-save "
                                f"the model with CRC-32s (the default)") from None
                        raise _damaged(path, f"member {info.filename!r} fails its CRC-32 "
                                             f"check (a changed byte)") from None
                    raise
                if len(contents) != info.file_size or (
                        zlib.crc32(contents) & 0xFFFFFFFF) != info.CRC:  # pragma: no cover
                    raise _damaged(path, f"member {info.filename!r} fails its CRC-32 check")
    except ModelFileError:
        raise
    except Exception as e:
        raise _damaged(path, first_line(e)) from None
    return tuple(names)


def archive_kind(names: tuple) -> str:
    """``"script"`` (a TorchScript archive: it holds code), ``"pt2"`` (a
    torch.export archive), ``"pickle"`` (a ``torch.save`` zip: data only) or
    ``"other"``."""
    if any(n.endswith("/archive_format") for n in names) or \
            "serialized_exported_program.json" in names:
        return "pt2"
    if any("/code/" in n or n.endswith("/constants.pkl") for n in names):
        return "script"
    if any(n.endswith("/data.pkl") for n in names):
        return "pickle"
    return "other"


def read_archive(path: str) -> Archive:
    """Read and check a torch archive (see the module doc)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read ({first_line(e)})") from None
    if not data:
        raise ModelFileError(f"{path}: the file is empty")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if data[:2] == b"\x80\x02" or data[:1] == b"\x80":
            raise ModelFileError(
                f"{path}: a torch file in the legacy (non-zip) torch.save format, which "
                f"records no checksums, so damage cannot be detected; re-save it with "
                f"torch.save (zip format, the default since torch 1.6)")
        raise _damaged(path, "not a zip archive (TorchScript, torch.save and "
                             "torch.export files are zip archives)")
    names = check_zip(data, path)
    return Archive(path, data, names, archive_kind(names))
