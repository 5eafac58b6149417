# Process-wide adjustments to pyHanko, active whenever any part of the signer is imported
# (each module says why).
from signer import _asn1_dump, _keep_metadata, _name_prep, _objstm, _reverse_xref, _subsume, _tokenizer  # noqa: F401
