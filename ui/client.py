"""A minimal client for the web UI's JSON API (``/ask``, ``/source``), as any HTTP client would call it."""

from __future__ import annotations

import json
from typing import Any

import httpx


class APIError(RuntimeError):
    """The server reported an error event for the call."""


def call_api(base: str, name: str, arg: str, client: httpx.Client | None = None, timeout: float = 120) -> Any:
    """POST the argument to ``{base}gradio_api/call/{name}``, then read the event stream for the result."""
    own = client is None
    c = client or httpx.Client(timeout=timeout)
    try:
        r = c.post(f"{base}gradio_api/call/{name}", json={"data": [arg]})
        r.raise_for_status()
        event = r.json()["event_id"]
        kind = None
        with c.stream("GET", f"{base}gradio_api/call/{name}/{event}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind in ("complete", "error"):
                    if kind == "error":
                        raise APIError(f"{name}({arg[:40]!r}) failed: {line[6:]}")
                    return json.loads(line[6:])[0]
        raise APIError(f"{name}({arg[:40]!r}): the event stream ended without a result")
    finally:
        if own:
            c.close()
