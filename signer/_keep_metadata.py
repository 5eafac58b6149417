"""Incremental updates leave the document's metadata exactly as certseal rendered it.

pyHanko's writers refresh the metadata on every incremental write (`_update_meta`: Info
ModDate / Producer and the XMP packet). WeasyPrint's /Metadata stream is not a pyHanko
`MetadataStream`, so pyHanko replaced it with a minimal packet of its own: every sealed
original lost its PDF/A-3b identification (pdfaid:part / conformance) and certseal's own
XMP labels (environment, reference), one of the three environment signals a verifier reads.

The seal certifies the rendered document, metadata included; the revisions after it
(signature, DSS, document timestamps, an approval) add signatures and validation data and
have no reason to rewrite who produced the document or when. The same holds for the writers
pyHanko creates internally for B-LTA, hence a class-level setting rather than a flag per
writer. Review when upgrading pyHanko (pinned in pyproject).
"""
from __future__ import annotations

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter


def _keep_metadata(self) -> None:
    return None


IncrementalPdfFileWriter._update_meta = _keep_metadata
