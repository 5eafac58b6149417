"""What the HTTP API tests share: a config home with real PKIs, genuine and tampered originals,
API tokens, and a real `certseal serve` process on a free loopback port.

The world is built once per test process (it costs a few seconds of sealing); each test
module starts its own server against it.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import httpx

from renderers.environment import Environment
from renderers.model import parse_certificate
from renderers.samples import list_samples

CERTSEAL = str(Path(sys.executable).parent / "certseal")
SAMPLE = next(s.path for s in list_samples() if s.model == "CHED-PP")

TOKENS = {
    "issuer-training": ("issuer", "training"),
    "issuer-production": ("issuer", "production"),
    "previewer-training": ("previewer", "training"),
}
# Long random-looking secrets, so a test can search the server's log for them.
SECRETS = {name: f"tok-{name}-{os.urandom(12).hex()}" for name in TOKENS}


@dataclass(frozen=True)
class World:
    home: Path
    tokens_file: Path
    production: Path  # genuine production original: VALID
    training: Path  # genuine training original: NO_LEGAL_VALUE
    tampered: Path  # production original with text added after sealing: INVALID
    flipped: Path  # production original with one byte changed inside the signed range: INVALID
    production_reference: str
    training_reference: str


def sample_data(**changes: object) -> dict:
    data = json.loads(SAMPLE.read_text())
    data.update(changes)
    return data


@cache
def world() -> World:
    from service.config import load_config
    from service.issuing import issue, seal_key_for
    from service.pki import init_pki

    root = Path(tempfile.mkdtemp(prefix="certseal-api-world-"))
    atexit.register(shutil.rmtree, root, True)
    home = root / "home"
    home.mkdir()
    for env in (Environment.TRAINING, Environment.PRODUCTION):
        init_pki(load_config(environ={}, home=home), env)
    config = load_config(environ={}, home=home)

    def seal(data: dict, name: str) -> Path:
        cert = parse_certificate(data)
        original = issue(cert, seal_key_for(config, cert.environment), config.environment(cert.environment))
        path = root / name
        path.write_bytes(original.pdf)
        return path

    production_data = sample_data(environment="production", reference="CHEDPP.BE.2026.0007001")
    production = seal(production_data, "production.pdf")
    training_data = sample_data(reference="CHEDPP.NL.2026.0007002")
    training = seal(training_data, "training.pdf")
    tampered = root / "tampered.pdf"
    tampered.write_bytes(append_forged_text(production.read_bytes()))
    flipped = root / "flipped.pdf"
    data = bytearray(production.read_bytes())
    pos = data.index(b"/Type /Page") + 1
    data[pos] ^= 0x01
    flipped.write_bytes(bytes(data))

    tokens_file = root / "api-tokens.toml"
    tokens_file.write_text("".join(
        f'[[tokens]]\nname = "{name}"\nrole = "{role}"\nenvironment = "{env}"\ntoken = "{SECRETS[name]}"\n\n'
        for name, (role, env) in TOKENS.items()))
    return World(home=home, tokens_file=tokens_file, production=production, training=training,
                 tampered=tampered, flipped=flipped, production_reference=production_data["reference"],
                 training_reference=training_data["reference"])


def append_forged_text(original: bytes) -> bytes:
    """An incremental update after sealing that paints a box over part of page 1 (a classic edit)."""
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(original))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = generic.StreamObject(stream_data=b"q 0.1 0.2 0.8 rg 60 380 300 160 re f Q")
    contents = page["/Contents"]
    kids = list(contents) if isinstance(contents, generic.ArrayObject) else [contents]
    page["/Contents"] = generic.ArrayObject([*kids, writer.add_object(stream)])
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path
    workdir: Path  # holds the server's store and registry

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def server_env(w: World, store_root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTSEAL_")}
    env.update(
        CERTSEAL_HOME=str(w.home),
        CERTSEAL_API_TOKENS_FILE=str(w.tokens_file),
        CERTSEAL_API_MAX_UPLOAD_BYTES=str(2 << 20),
        # The worker's store and registry, kept inside the test's own directory.
        CERTSEAL_STORE=str(store_root / "store"),
        CERTSEAL_REGISTRY=str(store_root / "registry.sqlite"),
    )
    env.update(extra)
    return env


def start_server(w: World, workdir: Path, **extra_env: str) -> Iterator[Server]:
    """`certseal serve` on 127.0.0.1 and a free port, as an operator starts it; stopped afterwards."""
    port = free_port()
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([CERTSEAL, "serve", "--host", "127.0.0.1", "--port", str(port)],
                                   env=server_env(w, workdir, **extra_env), stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log_path, workdir)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"certseal serve exited {process.returncode}:\n{server.log()}")
            try:
                if httpx.get(server.url + "/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"certseal serve did not come up:\n{server.log()}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {SECRETS[name]}"}
