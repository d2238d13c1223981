"""A local HTTP server that answers like the OpenAI Chat Completions and Anthropic Messages
APIs, so the real SDKs can be tested offline at the HTTP layer.

Each test queues replies (status, JSON body, headers) and reads back every request body the
SDK sent. The JSON builders below follow the shapes of the real APIs' responses.

Faults a real server (or a hostile one) produces can be queued too: any raw bytes as the body
(HTML, truncated JSON, `[]`), a body cut off before its declared length, a body trickled one
byte at a time, and a request that is never answered. `always(...)` answers every request the
same way, for sessions that retry.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWERED_PATHS = ("/v1/chat/completions", "/v1/messages")

# Recognisable, so a leak into a message, a body or a repr is easy to spot.
FAKE_KEY = "sk-test-DO-NOT-LEAK-0123456789abcdef"

# Both SDKs honour `retry-after-ms` before `retry-after`; it keeps retried tests fast.
RETRY_NOW = {"retry-after": "0", "retry-after-ms": "1"}


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    raw: bytes | None = None
    content_type: str = "application/json"
    cut_after: int | None = None
    trickle_s: float | None = None
    hang: bool = False
    declare_length: bool = True


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout, a cancelled call) is expected here, not news."""


class FakeLLMServer:
    """Serves queued replies on 127.0.0.1 from a background thread; records every request."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self._always: Reply | None = None
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def reply(
        self,
        body: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
        raw: bytes | None = None,
        content_type: str = "application/json",
        cut_after: int | None = None,
        trickle_s: float | None = None,
        hang: bool = False,
        declare_length: bool = True,
    ) -> None:
        """Queue one reply. `raw` is sent verbatim instead of `body` as JSON; `cut_after` sends
        only that many bytes of a body whose full length is declared, then closes; `trickle_s`
        sends the body one byte per that many seconds; `hang` never answers; without
        `declare_length` the body has no content-length and ends when the connection closes."""
        with self._lock:
            self._replies.append(
                Reply(
                    status,
                    body,
                    headers or {},
                    delay_s,
                    raw,
                    content_type,
                    cut_after,
                    trickle_s,
                    hang,
                    declare_length,
                )
            )

    def always(self, body: Any = None, **options: Any) -> None:
        """Answer every request that finds the queue empty with this reply."""
        self.reply(body, **options)
        with self._lock:
            self._always = self._replies.pop()

    def close(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if request.path not in ANSWERED_PATHS:
                return Reply(404, {"error": {"message": f"no route {request.path}"}})
            if not self._replies and self._always is not None:
                return self._always
            if not self._replies:
                # Not retryable, so a test that forgot to queue a reply fails fast.
                return Reply(
                    500,
                    {"error": {"message": "fake server: no reply queued"}},
                    {"x-should-retry": "false"},
                )
            return self._replies.popleft()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        raw = self.rfile.read(length)
        request = RecordedRequest(
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=json.loads(raw) if raw else {},
        )
        fake: FakeLLMServer = self.server.fake  # type: ignore[attr-defined]
        reply = fake._next_reply(request)
        if reply.hang:
            fake.stopping.wait()
            return
        time.sleep(reply.delay_s)
        payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("content-type", reply.content_type)
        if reply.declare_length:
            self.send_header("content-length", str(len(payload)))
        else:
            self.close_connection = True
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.cut_after is not None:
            self.wfile.write(payload[: reply.cut_after])
            self.wfile.flush()
            self.close_connection = True
            return
        if reply.trickle_s is not None:
            for index in range(len(payload)):
                if fake.stopping.wait(reply.trickle_s):
                    return
                try:
                    self.wfile.write(payload[index : index + 1])
                    self.wfile.flush()
                except OSError:  # the client gave up, as it should
                    return
            return
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `requests`, not the log."""


# --- OpenAI Chat Completions -------------------------------------------------------------


def openai_tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def chat_completion(
    *,
    content: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    model: str = "gpt-4o-2024-08-06",
    prompt_tokens: int = 120,
    completion_tokens: int = 30,
    refusal: str | None = None,
    cached_tokens: int = 0,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": content,
        "refusal": refusal,
        "annotations": [],
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fc9f1d7035",
    }


def openai_error(message: str, *, type: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


# --- Anthropic Messages ------------------------------------------------------------------


def text_block(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def tool_use_block(block_id: str, name: str, input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": block_id, "name": name, "input": input}


def anthropic_message(
    *,
    content: list[dict[str, Any]],
    stop_reason: str | None = "end_turn",
    model: str = "claude-sonnet-4-5-20250929",
    input_tokens: int = 1000,
    output_tokens: int = 200,
    cache_creation_input_tokens: int = 0,
    cache_read_input_tokens: int = 0,
) -> dict[str, Any]:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": cache_creation_input_tokens,
            "cache_read_input_tokens": cache_read_input_tokens,
            "service_tier": "standard",
        },
    }


def anthropic_error(message: str, *, type: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": type, "message": message},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }
