# Process-wide adjustments to pyHanko, active whenever any part of the signer is imported
# (each module says why).
from signer import _keep_metadata, _tokenizer  # noqa: F401
