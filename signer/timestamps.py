"""Reading the times out of RFC 3161 tokens embedded in a signed PDF (no validation here:
callers that rely on a time also validate the token, see `signer.signatures`)."""
from __future__ import annotations

from datetime import datetime

from pyhanko.sign.general import find_cms_attribute_iter
from pyhanko.sign.validation import EmbeddedPdfSignature


def token_time(signed_data) -> datetime | None:
    """genTime of a timestamp token's TSTInfo (None if it is not one)."""
    try:
        return signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def signature_timestamp_time(embedded: EmbeddedPdfSignature) -> datetime | None:
    """The time in the seal's signature-time-stamp attribute (PAdES B-T), if it has one."""
    try:
        tokens = list(find_cms_attribute_iter(embedded.signer_info["unsigned_attrs"], "signature_time_stamp_token"))
    except Exception:  # no or malformed unsigned attributes: no usable timestamp
        return None
    return token_time(tokens[0]["content"]) if tokens else None


def document_timestamp_time(embedded: EmbeddedPdfSignature) -> datetime | None:
    """The time of a document timestamp (/DocTimeStamp, PAdES B-LTA)."""
    return token_time(embedded.signed_data)
