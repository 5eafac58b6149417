"""PKCS#11 seal keys (HSMs in production, SoftHSM2 in tests), named by an RFC 7512 URI:

    pkcs11:token=certseal;object=seal?module-path=/usr/lib/softhsm/libsofthsm2.so

Path attributes: `token` (token label, required), `object` (label of the private key and of
its certificate, required), `id` (hex or %-encoded CKA_ID, optional, narrows both). Query:
`module-path` (else the environment variable CERTSEAL_PKCS11_MODULE). The PIN is *never* in
the URI (`pin-value` is refused): it comes from a file or an environment variable, like a
PKCS#12 passphrase, and is handed to the token without being formatted into any message.

The session stays open for the life of the key (a worker signs many documents with one
login); `Pkcs11Key.close()` logs out.
"""
from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from cryptography import x509

from signer.errors import SealingError

MODULE_ENV = "CERTSEAL_PKCS11_MODULE"


@dataclass(frozen=True)
class Pkcs11Uri:
    token: str
    object: str
    id: bytes | None
    module_path: str

    @classmethod
    def parse(cls, location: str, environ=os.environ) -> "Pkcs11Uri":
        path, _, query = location.partition("?")
        attrs = {}
        for part in filter(None, path.split(";")):
            name, sep, value = part.partition("=")
            if not sep:
                raise SealingError(f"PKCS#11 URI attribute {name!r} has no value")
            attrs[name.strip().lower()] = urllib.parse.unquote(value)
        params = {k.lower(): v for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)}
        if "pin-value" in attrs or "pin-value" in params:
            # Refused before anything else, and the value is never echoed.
            raise SealingError(
                "a PIN in the PKCS#11 URI is refused; give it in key_passphrase_file or "
                "CERTSEAL_<ENV>_KEY_PASSPHRASE(_FILE)"
            )
        for required in ("token", "object"):
            if not attrs.get(required):
                raise SealingError(f"the PKCS#11 URI needs a {required}= attribute (pkcs11:token=…;object=…)")
        module = params.get("module-path") or environ.get(MODULE_ENV)
        if not module:
            raise SealingError(f"no PKCS#11 module: add ?module-path=… to the key URI or set {MODULE_ENV}")
        raw_id = attrs.get("id")
        key_id = None
        if raw_id:
            try:
                key_id = bytes.fromhex(raw_id)
            except ValueError:
                key_id = raw_id.encode("latin-1")
        return cls(attrs["token"], attrs["object"], key_id, module)

    @property
    def label(self) -> str:
        """What the audit trail and messages call the key (no module path, never a PIN)."""
        return f"pkcs11:token={self.token};object={self.object}"


@dataclass
class Pkcs11Key:
    """An open, logged-in session plus pyHanko's signer and the key's certificate."""

    session: object
    signer: object
    certificate: x509.Certificate

    def close(self) -> None:
        try:
            self.session.close()
        except Exception:
            pass


def open_pkcs11_key(uri: Pkcs11Uri, pin: bytes | None) -> Pkcs11Key:
    """Log in to the token and find the seal key and its certificate. Raises SealingError
    with the token's error name, never with the PIN."""
    try:
        import pkcs11
        from pkcs11 import Attribute, ObjectClass
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
    except ImportError as e:
        raise SealingError(f"PKCS#11 support is not installed (python-pkcs11): {e}") from None
    if not os.path.isfile(uri.module_path):
        raise SealingError(f"PKCS#11 module {uri.module_path} does not exist")
    if pin is None:
        raise SealingError(f"no PIN for {uri.label}: set key_passphrase_file or CERTSEAL_<ENV>_KEY_PASSPHRASE(_FILE)")
    try:
        session = open_pkcs11_session(
            uri.module_path, token_criteria=TokenCriteria(label=uri.token), user_pin=pin.decode("utf-8")
        )
    except pkcs11.PinIncorrect:
        raise SealingError(f"{uri.label}: the token refused the PIN") from None
    except pkcs11.PKCS11Error as e:
        raise SealingError(f"{uri.label}: cannot open the token ({type(e).__name__})") from None
    except Exception as e:  # pyHanko raises plain errors for "no such token"
        message = str(e).replace(pin.decode("utf-8", "replace"), "***") if pin else str(e)
        raise SealingError(f"{uri.label}: cannot open the token: {message}") from None
    try:
        query = {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: uri.object}
        if uri.id is not None:
            query[Attribute.ID] = uri.id
        found = list(session.get_objects(query))
        if not found:
            raise SealingError(f"{uri.label}: the token holds no certificate labelled {uri.object!r}")
        der = bytes(found[0][Attribute.VALUE])
        certificate = x509.load_der_x509_certificate(der)
        signer = PKCS11Signer(
            session, key_label=uri.object, key_id=uri.id,
            signing_cert=asn1_x509.Certificate.load(der), other_certs_to_pull=None,
            # Hash here, sign the digest on the token (CKM_ECDSA): every token has the raw
            # mechanism, not all have CKM_ECDSA_SHA256 (SoftHSM 2.6 has not).
            use_raw_mechanism=True,
        )
    except SealingError:
        session.close()
        raise
    except Exception as e:
        session.close()
        raise SealingError(f"{uri.label}: cannot use the key: {type(e).__name__}: {e}") from None
    return Pkcs11Key(session, signer, certificate)
