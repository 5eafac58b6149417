"""The audit trail: one JSON line per signature (or refusal), append-only and hash-chained.

Each line carries `seq` (1, 2, …), `prev` (the previous line's `hash`; 64 zeros for the
first) and `hash` = SHA-256 of the line's canonical JSON without `hash`. So:
- an edited line no longer matches its own hash;
- a removed or reordered line breaks the `prev` link (and the `seq` run) of the line after;
- a removed *last* line leaves a valid, shorter chain: compare the head (`seq` and `hash` of
  the last line, printed by `certseal audit verify`) with one recorded elsewhere (a ticket,
  the registry, a second log) — `verify_log(expect_head=…)` does that.

Writers take an exclusive `flock` on the log for read-last-line + append + fsync, so
concurrent workers on one machine never interleave or fork the chain. (flock is not reliable
on NFS: keep the log on a local file system.)

Never written: PINs, passphrases, key material. The entry has no free-text field that a
caller could pass one through, except `outcome`, which holds our own error messages, which
never contain secrets (`signer.errors`).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

GENESIS = "0" * 64
_TAIL_CHUNK = 64 << 10


@dataclass(frozen=True)
class AuditEntry:
    """What one signing operation leaves behind (see DESIGN.md, Security rules)."""

    operation: str  # "seal" | "extend"
    reference: str | None
    version: int | None
    environment: str
    key_label: str
    signer_serial: str | None  # hex
    signer_issuer: str | None
    unsigned_sha256: str
    signed_sha256: str | None  # None when refused
    level: str | None
    tsa_time: str | None
    outcome: str  # "sealed" | "extended" | "refused: <reason>"
    time: str = ""

    def with_time(self) -> "AuditEntry":
        if self.time:
            return self
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        return AuditEntry(**{**asdict(self), "time": now})


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(record: dict) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _line_hash(record: dict) -> str:
    return sha256_hex(_canonical({k: v for k, v in record.items() if k != "hash"}))


def _last_line(fd: int) -> bytes | None:
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return None
    start = max(0, size - _TAIL_CHUNK)
    while True:
        os.lseek(fd, start, os.SEEK_SET)
        chunk = os.read(fd, size - start)
        body = chunk.rstrip(b"\n")
        cut = body.rfind(b"\n")
        if cut >= 0 or start == 0:
            return body[cut + 1:]
        start = max(0, start - _TAIL_CHUNK)


class AuditLogError(Exception):
    """The audit log cannot be written (signing must then not be reported as done)."""


def append_entry(path: Path, entry: AuditEntry) -> dict:
    """Append `entry` to the log at `path` (created 0600 if missing) and return the record."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as e:
        raise AuditLogError(f"cannot open the audit log {path}: {e.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        last = _last_line(fd)
        if last:
            try:
                previous = json.loads(last)
                prev_hash, seq = previous["hash"], int(previous["seq"]) + 1
            except (ValueError, KeyError, TypeError):
                raise AuditLogError(f"the audit log {path} ends with a damaged line; run `certseal audit verify`") from None
        else:
            prev_hash, seq = GENESIS, 1
        record = {"seq": seq, **asdict(entry.with_time()), "prev": prev_hash}
        record["hash"] = _line_hash(record)
        os.write(fd, _canonical(record) + b"\n")
        os.fsync(fd)
        return record
    except OSError as e:
        raise AuditLogError(f"cannot write the audit log {path}: {e.strerror}") from None
    finally:
        os.close(fd)  # releases the lock


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    lines: int
    head_seq: int | None
    head_hash: str | None
    problems: tuple[str, ...]


def verify_log(path: Path, *, expect_head: str | None = None) -> AuditCheck:
    """Walk the chain and say where it breaks. `expect_head`: a hash (or `SEQ:HASH`) recorded
    elsewhere that must still be in the log (detects a removed tail)."""
    problems: list[str] = []
    prev, expected_seq = GENESIS, 1
    head_seq: int | None = None
    head_hash: str | None = None
    seen: dict[str, int] = {}
    try:
        raw_lines = Path(path).read_bytes().split(b"\n")
    except OSError as e:
        return AuditCheck(False, 0, None, None, (f"cannot read {path}: {e.strerror}",))
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    else:
        problems.append("the last line is incomplete (no line break): a write was cut off or the file was edited")
    for number, raw in enumerate(raw_lines, start=1):
        try:
            record = json.loads(raw)
            if not isinstance(record, dict):
                raise ValueError
        except ValueError:
            problems.append(f"line {number}: not a JSON object (damaged or edited)")
            prev, expected_seq = None, None
            continue
        stated = record.get("hash")
        if stated != _line_hash(record):
            problems.append(f"line {number}: its content does not match its hash (edited)")
        if prev is not None and record.get("prev") != prev:
            problems.append(f"line {number}: does not follow line {number - 1} (a line was removed, inserted or reordered)")
        if expected_seq is not None and record.get("seq") != expected_seq:
            problems.append(f"line {number}: sequence number {record.get('seq')!r}, expected {expected_seq}")
        prev = stated if isinstance(stated, str) else None
        expected_seq = record["seq"] + 1 if isinstance(record.get("seq"), int) else None
        head_seq, head_hash = record.get("seq"), stated
        if isinstance(stated, str):
            seen[stated] = record.get("seq")
    if expect_head:
        seq_text, _, hash_text = expect_head.rpartition(":")
        if hash_text not in seen or (seq_text and str(seen[hash_text]) != seq_text):
            problems.append(f"the recorded head {expect_head} is not in the log (lines were removed from the end)")
    return AuditCheck(not problems, len(raw_lines), head_seq, head_hash, tuple(problems))
