"""Errors raised by the signing side.

Verification never raises (it turns every problem into a verdict), so only sealing and key
handling have exceptions. Messages are meant for an operator; they never contain a passphrase.
"""
from __future__ import annotations


class SealingError(Exception):
    """A document cannot be sealed, or a key cannot be used for sealing."""


class PkiExistsError(SealingError):
    """`create_pki` was asked to write where a PKI already exists (and not told to replace it)."""
