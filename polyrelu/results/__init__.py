"""Result files: one versioned format for everything polyrelu can certify.

Writers (:func:`write_partition`, :class:`PartitionWriter`,
:func:`write_region`, :func:`write_equivalence`), the reader
:func:`load_result` (also ``pr.load_result``) and the record builder.  The
format, its kind registry and the proof the standalone checker runs are
described in :mod:`polyrelu.check`; JSON Schema files ship in
``polyrelu/schemas``.
"""

from .files import (
    EquivalenceRecord,
    PartitionResult,
    PartitionWriter,
    RegionResult,
    ResultFileError,
    load_result,
    write_equivalence,
    write_partition,
    write_region,
)
from .records import RecordBuilder, domain_doc, network_doc, vertex_key

__all__ = ["EquivalenceRecord", "PartitionResult", "PartitionWriter", "RegionResult",
           "ResultFileError", "load_result", "write_equivalence", "write_partition",
           "write_region", "RecordBuilder", "domain_doc", "network_doc", "vertex_key"]
