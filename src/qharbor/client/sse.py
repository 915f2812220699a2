"""Server-sent events: turn a stream of text lines into events.

Follows the WHATWG event-stream rules that matter here: ``event:``, ``data:``
(several lines joined with newlines), ``id:``, comments starting with ``:``, and
a blank line ending each event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServerSentEvent:
    """One event from a server-sent event stream.

    Attributes:
        event: The event type (``"message"`` when the server named none).
        data: The data, decoded from JSON when it is JSON, else the raw text.
        id: The event id, if the server sent one.
    """

    event: str
    data: Any
    id: str | None = None


def parse_events(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Yield the complete events in ``lines`` (text lines, with or without line endings)."""
    event = ""
    data: list[str] = []
    event_id: str | None = None
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield ServerSentEvent(event or "message", _decode("\n".join(data)), event_id)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue  # a comment, e.g. a keep-alive
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
    # An event not ended by a blank line was cut off, so it is dropped (as browsers do).


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
