"""The follow-up an approval signature states (e.g. CHED Part III): who signs, for which
authority, what was decided, when. Untrusted JSON at the edge; `parse_follow_up` validates it
into a `FollowUp` and every error names the offending key.

```json
{"officer": "Dr. Anna Berger", "qualification": "Official inspector",
 "authority": "Veterinär- und Einfuhramt Hamburg", "decision": "compliance_confirmed",
 "notes": "Seals intact on arrival.", "date": "2026-03-02T10:15:00+01:00"}
```
`decision` is a key of the model's decision box options (CHED: box III.7), checked against the
model by `FollowUp.check_decision`; the appearance prints that option in both languages.
`date` is when the officer took the follow-up decision, with its UTC offset: printed in the
officer's locales, in that offset.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime

from renderers.errors import InputError

KEYS = ("officer", "qualification", "authority", "decision", "notes", "date")
REQUIRED = ("officer", "date")
MAX_TEXT = 120  # one line of the appearance
MAX_NOTES = 240  # at most a few lines; the appearance shrinks to fit its box
NOTES_LINE = 80


@dataclass(frozen=True)
class FollowUp:
    officer: str
    date: datetime
    qualification: str | None = None
    authority: str | None = None
    decision: str | None = None  # option key of the model's decision box
    notes: str | None = None

    def check_decision(self, model) -> str | None:
        """The msgid of the decision option under `model` (renderers.model.ModelSpec); None if
        no decision is given. Raises InputError("decision") for a key the model does not have."""
        if self.decision is None:
            return None
        field = model.signatures.decision_field
        if field is None:
            raise InputError("decision", f"model {model.id} takes no decision with its approval signature")
        box = model.field_boxes[field]
        for option in box.options:
            if option.key == self.decision:
                return option.label
        keys = ", ".join(o.key for o in box.options)
        raise InputError("decision", f"unknown decision {self.decision!r} for box {box.id} of {model.id} "
                                     f"(expected one of: {keys})")

    @property
    def note_lines(self) -> tuple[str, ...]:
        return tuple(textwrap.wrap(self.notes, NOTES_LINE)) if self.notes else ()


def _text(data: dict, key: str, *, limit: int = MAX_TEXT) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(key, f"expected a string, got {type(value).__name__}")
    value = " ".join(value.split())  # one line: newlines or tabs would break the appearance
    if not value:
        return None
    if len(value) > limit:
        raise InputError(key, f"too long ({len(value)} characters, at most {limit})")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise InputError(key, "contains control characters")
    return value


def parse_follow_up(data: object) -> FollowUp:
    """Validate decoded JSON into a `FollowUp`; InputError names the key at fault."""
    if not isinstance(data, dict):
        raise InputError("$", "the follow-up is a JSON object")
    for key in data:
        if key not in KEYS:
            raise InputError(str(key), f"unknown property (expected: {', '.join(KEYS)})")
    values = {key: _text(data, key, limit=MAX_NOTES if key == "notes" else MAX_TEXT) for key in KEYS}
    for key in REQUIRED:
        if values[key] is None:
            raise InputError(key, "missing")
    from renderers.kinds import iso_datetime

    try:
        date = iso_datetime(values["date"])
    except ValueError as exc:
        raise InputError("date", str(exc)) from None
    return FollowUp(
        officer=values["officer"], date=date, qualification=values["qualification"],
        authority=values["authority"], decision=values["decision"], notes=values["notes"],
    )
