"""A minimal server-sent-events client on http.client (no browser, no SSE library).

A thread reads the (de-chunked) stream and parses events into a queue, so a test can wait
for events with a timeout. Event ids are the stream's cursors (``streams.alert_stream``).
"""

from __future__ import annotations

import http.client
import queue
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import orjson

from streams.alert_stream import parse_cursor


def own_position(event_id: str) -> tuple[int, int]:
    """The event's own ``(partition, offset)``: the first pair of its id."""
    partition, _, offset = event_id.split(",")[0].partition(":")
    return int(partition), int(offset)


def after(event_id: str, earlier_id: str) -> bool:
    """Whether the event lies past everything the cursor ``earlier_id`` had served."""
    partition, offset = own_position(event_id)
    cursor = parse_cursor(earlier_id) or {}
    return offset > cursor.get(partition, -1)


class EventStream:
    def __init__(self, base_url: str, last_event_id: str | None = None, query: str = "") -> None:
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", "/api/alerts/stream" + (f"?{query}" if query else ""), headers=headers)
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200
        assert (self.resp.getheader("Content-Type") or "").startswith("text/event-stream")
        assert self.conn.sock is not None
        self.conn.sock.settimeout(None)  # the reader thread blocks; close() unblocks it
        self.queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.ended: BaseException | None = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        event_id: str | None = None
        data: list[str] = []
        try:
            while raw := self.resp.readline():
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                elif line == "" and data:
                    assert event_id is not None, "every alert event carries an id"
                    self.queue.put((event_id, orjson.loads("\n".join(data))))
                    event_id, data = None, []
        except (OSError, ValueError, AttributeError, http.client.HTTPException) as exc:
            self.ended = exc  # closed by close(), or by the server
        if self.ended is None:
            self.ended = EOFError("the server ended the stream")

    def events(self, want: int, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        """Up to ``want`` events (id, decoded data) arriving within ``timeout`` seconds."""
        out: list[tuple[str, dict[str, Any]]] = []
        deadline = time.monotonic() + timeout
        while len(out) < want and (left := deadline - time.monotonic()) > 0:
            try:
                out.append(self.queue.get(timeout=left))
            except queue.Empty:
                break
        return out

    def close(self) -> None:
        if self.conn.sock is not None:
            try:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.conn.close()
        self.reader.join(5)
