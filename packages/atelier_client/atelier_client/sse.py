"""An incremental Server-Sent Events parser (the WHATWG rules the platform's stream needs):
lines in, ``(event, data, id)`` out; comments (``: keepalive``) skipped."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerEvent:
    event: str
    data: str
    id: str | None


class SseParser:
    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self.last_id: str | None = None  # kept across events, as Last-Event-ID is

    def feed(self, line: str) -> ServerEvent | None:
        """One line without its end; returns the event a blank line completes."""
        if line == "":
            if not self._data:
                self._event = ""
                return None
            done = ServerEvent(self._event or "message", "\n".join(self._data), self.last_id)
            self._event, self._data = "", []
            return done
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_id = value
        return None
