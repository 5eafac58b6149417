"""Errors raised for bad certificate input. They always name the offending field or path."""
from __future__ import annotations


class InputError(ValueError):
    """The certificate input is not acceptable. `field` is a dotted path (e.g. `fields.consignor.country`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
