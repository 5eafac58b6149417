"""PAdES baseline levels (ETSI EN 319 142-1) and what each one asks of the sealing step.

    B-B    the CAdES signature alone
    B-T    + an RFC 3161 signature timestamp: proof the seal existed at that time
    B-LT   + the DSS: certificates, CRLs and OCSP responses to validate the seal and the
           timestamp later, without the network and after the CA is gone
    B-LTA  + a document timestamp over all of it, renewable (`certseal extend`) before
           the timestamp's own certificate or algorithms wear out
"""
from __future__ import annotations

from enum import StrEnum

from signer.errors import SealingError


class Level(StrEnum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @classmethod
    def parse(cls, text: "str | Level") -> "Level":
        try:
            return cls(str(text).strip().upper())
        except ValueError:
            raise SealingError(
                f"unknown PAdES level {text!r} (expected one of {', '.join(l.value for l in cls)})"
            ) from None

    @property
    def needs_tsa(self) -> bool:
        return self is not Level.B_B

    @property
    def embeds_validation_data(self) -> bool:
        return self in (Level.B_LT, Level.B_LTA)

    @property
    def archive_timestamp(self) -> bool:
        return self is Level.B_LTA


def default_level(tsa_configured: bool) -> Level:
    """B-LTA when a TSA is configured (the original must prove itself for decades), else B-B."""
    return Level.B_LTA if tsa_configured else Level.B_B
