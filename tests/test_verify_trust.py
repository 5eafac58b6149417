"""signer.trust and signer.metadata: the inputs verification relies on."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from _pki_helpers import REFERENCE, make_unsigned_pdf, material, pkis, unsigned_pdf  # noqa: F401
from renderers.environment import Environment
from signer.metadata import DocumentReadError, read_document_metadata
from signer.trust import TrustConfigError, TrustStore, load_trust_roots


def test_roots_load_from_files_and_directories(tmp_path):
    a, b = material(Environment.PRODUCTION).root_cert, material(Environment.TRAINING).root_cert
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.pem").write_bytes(a.public_bytes(Encoding.PEM))
    (tmp_path / "dir" / "b.crt").write_bytes(b.public_bytes(Encoding.PEM))
    (tmp_path / "dir" / "notes.txt").write_text("not a certificate")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(a.public_bytes(Encoding.PEM) + b.public_bytes(Encoding.PEM))
    assert load_trust_roots([tmp_path / "dir"]) == [a, b]
    assert load_trust_roots([bundle, tmp_path / "dir"]) == [a, b]  # duplicates dropped


def test_bad_trust_paths_are_reported(tmp_path):
    with pytest.raises(TrustConfigError, match="does not exist"):
        load_trust_roots([tmp_path / "missing.pem"])
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    with pytest.raises(TrustConfigError, match="junk.pem"):
        load_trust_roots([junk])


def test_a_root_may_serve_only_one_environment():
    root = material(Environment.TRAINING).root_cert
    with pytest.raises(TrustConfigError, match="both training and production"):
        TrustStore({Environment.TRAINING: [root], Environment.PRODUCTION: [root]})


def test_trust_store_maps_roots_to_environments(pkis):
    for env, env_pki in pkis.envs.items():
        assert pkis.trust.environment_of_root(env_pki.root) is env
    assert pkis.trust.environment_of_root(material(Environment.PRODUCTION).root_cert) is None
    assert len(pkis.trust.all_roots()) == 3
    assert not TrustStore({})


def test_document_metadata_is_read_from_info_and_xmp():
    labels = read_document_metadata(unsigned_pdf(Environment.ACCEPTANCE))
    assert (labels.environment, labels.reference, labels.model, labels.conflicts) == (
        Environment.ACCEPTANCE, REFERENCE, "CHED-PP", ()
    )
    missing = read_document_metadata(make_unsigned_pdf(Environment.TRAINING, metadata_env=None))
    assert missing.environment is None and missing.reference == REFERENCE


def test_unknown_environment_label_is_a_conflict():
    labels = read_document_metadata(make_unsigned_pdf(Environment.TRAINING, metadata_env="staging"))
    assert labels.environment is None
    assert any("unknown environment" in c for c in labels.conflicts)


def test_document_metadata_of_garbage_is_a_clear_error():
    with pytest.raises(DocumentReadError, match="not a readable PDF"):
        read_document_metadata(b"not a pdf")
