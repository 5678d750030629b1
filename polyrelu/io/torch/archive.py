"""Torch model files are zip archives: check them before torch reads them.

TorchScript archives (``torch.jit.save``), ``torch.save`` files (a state
dict) and torch.export programs (``torch.export.save``, ``.pt2``) are zip
archives whose every member records its CRC-32.  torch's own reader does not
check those checksums, so a bit flipped in a weight loads as a different
weight -- a different network, silently (issue 19: 11 of 340 mutated files).
:func:`read_archive` reads the whole file once, checks every member's CRC-32
with ``zipfile`` (which also checks that the local headers agree with the
central directory), and hands the *checked bytes* to torch, so torch reads
exactly what was verified.  Fields that ``zipfile`` tolerates but torch's
reader interprets differently are checked too (an entry marked as a
directory, which torch "extracts" as uninitialised memory; the CRC-32 and
sizes written beside each member, which must equal the directory's; a wrong
directory offset or entry count in the end record).  Whatever ``zipfile`` raises on a damaged
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
import struct
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
            _check_directory_record(z, data, len(infos), path)
            for info in infos:
                if info.flag_bits & 0x1:
                    raise _damaged(path, f"member {info.filename!r} is marked encrypted")
                # torch's reader (miniz) takes such an entry for a directory and
                # "extracts" nothing: the tensor is uninitialised memory
                if info.filename.endswith("/") or info.external_attr & 0x10:
                    raise _damaged(path, f"member {info.filename!r} is marked as a "
                                         f"directory")
                if info.compress_type == zipfile.ZIP_STORED and \
                        info.compress_size != info.file_size:
                    raise _damaged(path, f"member {info.filename!r} records two sizes "
                                         f"({info.compress_size} and {info.file_size})")
                _check_local_record(data, info, path)
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


def _end_record(data: bytes) -> tuple | None:
    """``(disk, directory's disk, entries here, entries, directory offset)``
    of the end-of-directory record (the zip64 one when present), or None."""
    k = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if k < 0 or len(data) < k + 22:
        return None
    disk, cd_disk, here, total, _size, offset = struct.unpack("<HHHHII", data[k + 4:k + 20])
    loc = k - 20
    if loc >= 0 and data[loc:loc + 4] == b"PK\x06\x07":
        z64 = struct.unpack("<Q", data[loc + 8:loc + 16])[0]
        if data[z64:z64 + 4] != b"PK\x06\x06" or len(data) < z64 + 56:
            return None
        disk, cd_disk, here, total, _size, offset = struct.unpack(
            "<IIQQQQ", data[z64 + 16:z64 + 56])
    return disk, cd_disk, here, total, offset


def _check_directory_record(z: zipfile.ZipFile, data: bytes, n: int, path: str) -> None:
    """The end-of-directory record must say what ``zipfile`` found:
    ``zipfile`` tolerates a wrong directory offset (it assumes bytes were
    prepended and shifts every member) and a wrong entry count, torch's
    reader does not -- each reader would then read other bytes."""
    end = _end_record(data)
    if end is None:
        raise _damaged(path, "its end-of-directory record cannot be read")
    disk, cd_disk, here, total, offset = end
    if offset != z.start_dir:
        raise _damaged(path, f"the directory is at byte {z.start_dir}, its end record "
                             f"says {offset}")
    if (here, total) != (n, n) or disk or cd_disk:
        raise _damaged(path, f"the end record counts {total} members on disks "
                             f"{disk}/{cd_disk}, the directory has {n}")


def _check_local_record(data: bytes, info: zipfile.ZipInfo, path: str) -> None:
    """The CRC-32 and sizes stored beside the member -- in its local header,
    or (flag bit 3, as torch writes) in the data descriptor after its data --
    must equal the directory's.  ``zipfile`` reads only the directory's, and
    torch's reader trusts the directory's sizes: a directory entry whose size
    and CRC-32 were zeroed reads as an empty member, which torch.export loads
    as a tensor of zeros."""
    h = info.header_offset
    try:
        (_sig, _v, flags, _m, _t, _d, crc, csize, usize, n, e) = struct.unpack(
            "<IHHHHHIIIHH", data[h:h + 30])
        if flags & 0x8:
            end = h + 30 + n + e + info.compress_size
            off = end + 4 if data[end:end + 4] == b"PK\x07\x08" else end
            crc = struct.unpack("<I", data[off:off + 4])[0]
            short = struct.unpack("<II", data[off + 4:off + 12])
            long_ = struct.unpack("<QQ", data[off + 4:off + 20]) \
                if len(data) >= off + 20 else (-1, -1)
            ok = crc == info.CRC and (info.compress_size, info.file_size) in (short, long_)
        else:
            ok = crc == info.CRC and (
                (csize, usize) == (info.compress_size, info.file_size) or
                0xFFFFFFFF in (csize, usize))          # zip64: sizes in the extra field
    except struct.error:
        ok = False
    if not ok:
        raise _damaged(path, f"member {info.filename!r}: the CRC-32 and sizes beside its "
                             f"data disagree with the zip directory's")


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
    try:
        is_zip = zipfile.is_zipfile(io.BytesIO(data))
    except Exception:       # e.g. BadZipFile('zipfiles that span multiple disks ...')
        is_zip = True       # (check_zip names the damage)
    if not is_zip:
        if data[:2] == b"\x80\x02" or data[:1] == b"\x80":
            raise ModelFileError(
                f"{path}: a torch file in the legacy (non-zip) torch.save format, which "
                f"records no checksums, so damage cannot be detected; re-save it with "
                f"torch.save (zip format, the default since torch 1.6)")
        raise _damaged(path, "not a zip archive (TorchScript, torch.save and "
                             "torch.export files are zip archives)")
    names = check_zip(data, path)
    return Archive(path, data, names, archive_kind(names))
