"""The benchmark's inputs: raw certificate bytes (JSON or UN/CEFACT SPS XML) exactly as an
issuing request carries them, so the parse stage starts from bytes like the worker does.

- `chedpp-nl-en`, `chedpp-nl-zh`, `chedpp-nl-ar`: the packaged CHED-PP sample (roses, 3 commodity
  lines) with the destination language switched. The issue asks for a 2-page CHED-PP; this
  model cannot be: Part II and Part III each start a page of their own and Part I's fixed box
  grid fills two pages even with only the compulsory boxes and one commodity line (tried:
  still 4 pages). So the sample is used as shipped and the report prints its real page count.
- `chedp-300`: the packaged 300-line CHED-P sample (tests/make_long_samples.py).
- `intra-sps`: the INTRA SPS XML sample from ../shared/samples/sps/.
- the page curve: the short CHED-P sample grown to N commodity lines
  (`renderers.samples.long_consignment`), N chosen for about 4 (the minimum), 5, 10, 20 and
  30 pages.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from renderers.samples import list_samples, load_sample, long_consignment

REPO = Path(__file__).resolve().parent.parent
SPS_SAMPLES = REPO.parent / "shared" / "samples" / "sps"
INTRA_SPS = "INTRA.EU.NL.2021.0000001.xml"

# Commodity lines of the CHED-P tuna sample → pages, measured when this was written
# (1 → 4, 20 → 5, 160 → 11, 320 → 18, 520 → 27); the report prints the real count.
CURVE_LINES = (1, 20, 140, 365, 585)
QUICK_CURVE_LINES = (1, 140)


@dataclass(frozen=True)
class BenchInput:
    name: str  # short id used on the command line and in the JSON
    label: str  # what it is, for a person
    kind: str  # "json" | "sps"
    raw: bytes  # the request body: JSON or SPS XML
    large: bool = False  # few rounds: one render takes seconds
    reference: str | None = None  # the certificate's reference, as it appears in `raw`

    def raw_for_round(self, index: int) -> bytes:
        """The request of round `index`: the same certificate with a reference of its own, as
        a worker issues them. The same reference every round would find what is made per
        certificate (its QR code, the line breaks of its reference) already made: about 10 ms
        a round that no real issue saves."""
        if self.reference is None:
            return self.raw
        prefix, number = _REFERENCE_NUMBER.fullmatch(self.reference).groups()
        renumbered = f"{prefix}{(int(number) + 1 + index) % 10 ** len(number):0{len(number)}d}"
        return self.raw.replace(self.reference.encode("utf-8"), renumbered.encode("utf-8"))


# A reference ends in its serial number (CHEDPP.BE.2026.0001234, INTRA.EU.NL.2021.0000001).
_REFERENCE_NUMBER = re.compile(r"(.*?)(\d+)")


def _json_input(name: str, label: str, data: dict, *, large: bool = False) -> BenchInput:
    return BenchInput(name, label, "json", json.dumps(data, ensure_ascii=False).encode("utf-8"), large,
                      reference=data["reference"])


def _sample(model: str, name: str) -> dict:
    try:
        return load_sample(model, name)
    except KeyError as exc:
        raise SystemExit(f"bench: {exc.args[0]}") from None


def ched_pp(destination_language: str) -> BenchInput:
    data = _sample("CHED-PP", "roses-ke-nl")
    data["destination_language"] = destination_language
    return _json_input(f"chedpp-{data['language']}-{destination_language}",
                       f"CHED-PP roses-ke-nl, {data['language']}+{destination_language}", data)


def ched_p_300() -> BenchInput:
    name = "tuna-300-lines-nl-fr"
    if not any(s.name == name for s in list_samples("CHED-P")):
        raise SystemExit(f"bench: the packaged sample {name} is missing (run tests/make_long_samples.py)")
    data = _sample("CHED-P", name)
    lines = len(data["fields"]["commodities"])
    return _json_input("chedp-300", f"CHED-P {name}, {lines} lines, "
                       f"{data['language']}+{data['destination_language']}", data, large=True)


def intra_sps(directory: Path = SPS_SAMPLES) -> BenchInput | None:
    """None when the shared SPS samples are not on this machine (the report says so)."""
    path = directory / INTRA_SPS
    if not path.is_file():
        return None
    return BenchInput("intra-sps", f"INTRA {path.name} (SPS XML)", "sps", path.read_bytes(), reference=path.stem)


def ched_p_lines(lines: int) -> BenchInput:
    data = long_consignment(_sample("CHED-P", "tuna-vn-nl"), lines)
    return _json_input(f"chedp-{lines}-lines", f"CHED-P tuna-vn-nl grown to {lines} lines, "
                       f"{data['language']}+{data['destination_language']}", data, large=lines > 100)


INPUT_NAMES = ("chedpp-nl-en", "chedpp-nl-zh", "chedpp-nl-ar", "chedp-300", "intra-sps")


def main_inputs(names: tuple[str, ...] = INPUT_NAMES) -> tuple[list[BenchInput], list[str]]:
    """The inputs asked for, in order, and notes about any that could not be built."""
    unknown = [n for n in names if n not in INPUT_NAMES]
    if unknown:
        raise SystemExit(f"bench: unknown input {', '.join(unknown)} (known: {', '.join(INPUT_NAMES)})")
    found: list[BenchInput] = []
    notes: list[str] = []
    for name in names:
        if name.startswith("chedpp-nl-"):
            found.append(ched_pp(name.rsplit("-", 1)[1]))
        elif name == "chedp-300":
            found.append(ched_p_300())
        elif name == "intra-sps":
            intra = intra_sps()
            if intra is None:
                notes.append(f"intra-sps skipped: {SPS_SAMPLES / INTRA_SPS} not found")
            else:
                found.append(intra)
    return found, notes
