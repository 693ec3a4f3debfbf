"""A dead letter as a person may see it: masked, pretty-printed, truncated; edits merged and
diffed. No I/O beyond reading the registry."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from opsconsole.registry import get_registry
from opsconsole.web.masking import MASK, Masker, masker, pretty

from ..models import DeadLetter
from . import extract

SHOW_BYTES = 64 * 1024  # shown on the page; the whole body is a download


def masker_for(letter: DeadLetter, request: Any = None, role: str | None = None) -> Masker:
    kind = get_registry().kinds.get(letter.kind) if letter.kind else None
    fields = kind.sensitive_fields if kind else ()
    return masker(fields, request, role=role)


def masked_body(letter: DeadLetter, mask: Masker) -> str:
    """The whole body as this person may see it (JSON pretty-printed)."""
    document = extract.parse_json(letter.body)
    if document is None:
        return str(mask(letter.body))
    return pretty(mask(document))


@dataclass(frozen=True)
class Shown:
    text: str
    truncated: bool
    shown_bytes: int
    total_bytes: int
    is_json: bool


def shown_body(letter: DeadLetter, mask: Masker) -> Shown:
    text = masked_body(letter, mask)
    raw = text.encode("utf-8", "replace")
    truncated = len(raw) > SHOW_BYTES
    if truncated:
        text = raw[:SHOW_BYTES].decode("utf-8", "ignore")
    return Shown(
        text=text,
        truncated=truncated,
        shown_bytes=min(len(raw), SHOW_BYTES),
        total_bytes=letter.body_size,
        is_json=letter.body_format == "json",
    )


def reading(letter: DeadLetter) -> extract.Reading:
    kind = get_registry().kinds.get(letter.kind) if letter.kind else None
    return extract.read(letter.body, letter.mechanism, letter.message_attributes, kind)


def _restore_masks(edited: Any, original: Any) -> Any:
    """Values the editor could not see (shown masked) and left masked keep their original."""
    if edited == MASK:
        return original
    if isinstance(edited, dict) and isinstance(original, dict):
        return {
            k: _restore_masks(v, original.get(k)) if k in original else v for k, v in edited.items()
        }
    if isinstance(edited, list) and isinstance(original, list):
        return [
            _restore_masks(v, original[i]) if i < len(original) else v for i, v in enumerate(edited)
        ]
    return edited


@dataclass(frozen=True)
class Edit:
    body: str  # what will be sent (masked values restored)
    diff: str  # as the editor saw it (masked)
    before_masked: str
    after_masked: str
    problem: str = ""


def apply_edit(letter: DeadLetter, edited_text: str, mask: Masker) -> Edit:
    """Validate an edited body and say what changes. JSON bodies must stay JSON (and an
    EventBridge event keeps `detail`, an invocation record `requestPayload`); a value left
    as the mask keeps its original."""
    before_masked = masked_body(letter, mask)
    original = extract.parse_json(letter.body)
    if original is not None:
        try:
            edited = json.loads(edited_text)
        except ValueError as exc:
            return Edit("", "", before_masked, edited_text, problem=f"Not valid JSON: {exc}")
        restored = _restore_masks(edited, original)
        body = json.dumps(restored, ensure_ascii=False)
        after_masked = pretty(mask(restored))
        needs = {"eventbridge_rule": "detail", "lambda_destination": "requestPayload"}
        key = needs.get(letter.mechanism)
        if key and not (isinstance(restored, dict) and key in restored):
            return Edit("", "", before_masked, after_masked, problem=f"The body must keep `{key}`.")
    else:
        if MASK in edited_text:
            return Edit(
                "",
                "",
                before_masked,
                edited_text,
                problem="The body contains masked values; an admin must edit this message.",
            )
        body = edited_text
        after_masked = str(mask(edited_text))
    if body == letter.body or (original is not None and extract.parse_json(body) == original):
        return Edit(body, "", before_masked, after_masked, problem="Nothing was changed.")
    diff = "\n".join(
        difflib.unified_diff(
            before_masked.splitlines(),
            after_masked.splitlines(),
            fromfile="before",
            tofile="after",
            lineterm="",
        )
    )
    return Edit(body, diff, before_masked, after_masked)
