"""The issuing environments. Shared by rendering (watermark, metadata, QR host) and sealing.

Only production documents have legal value; training and acceptance exist so officials and
integrators can practise, and their documents must never pass for originals.
"""
from __future__ import annotations

from enum import StrEnum


class Environment(StrEnum):
    PRODUCTION = "production"
    TRAINING = "training"
    ACCEPTANCE = "acceptance"

    @property
    def has_legal_value(self) -> bool:
        return self is Environment.PRODUCTION

    @classmethod
    def parse(cls, value: str, *, field: str = "environment") -> "Environment":
        from renderers.errors import InputError

        try:
            return cls(str(value).strip().lower())
        except ValueError:
            allowed = ", ".join(e.value for e in cls)
            raise InputError(field, f"unknown environment {value!r} (expected one of: {allowed})") from None


# Default public host of the verification URL printed in the QR code. Configurable per
# deployment (service.config); the reserved .example TLD keeps demo documents from ever
# pointing at a real service.
DEFAULT_VERIFICATION_BASE: dict[Environment, str] = {
    Environment.PRODUCTION: "https://certseal.example/certificates/",
    Environment.TRAINING: "https://training.certseal.example/certificates/",
    Environment.ACCEPTANCE: "https://acceptance.certseal.example/certificates/",
}
