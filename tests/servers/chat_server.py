"""A scriptable OpenAI-compatible chat server on 127.0.0.1 for exercising real client code.

It speaks ``POST /v1/chat/completions`` (plain JSON and ``stream: true`` server-sent events) and
answers each request with a `Reply`: queued replies first (`ChatServer.script`), then
``handler(body)`` (by default an echo of the last user message). Replies can be faults: HTTP
errors with Retry-After, slow answers past a client timeout, dropped connections, a body cut in
half, invalid JSON inside a valid envelope, or a refusal. Every request body is recorded.

Use from any test area::

    from tests.servers.chat_server import ChatServer, Reply
    with ChatServer() as server:
        server.script(Reply.rate_limited(retry_after=0), Reply.text("hello"))
        llm = get_llm("openai:any", base_url=server.url)
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class Reply:
    """What the server does with one request."""

    content: str | None = "ok"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    raw_body: str | None = None
    refusal: str | None = None
    usage: tuple[int, int] | None = None
    finish_reason: str = "stop"
    model: str = "fault-server-model"
    stream_cut_after: int | None = None
    tool_arguments: str | None = None
    tool_name: str = "reply"

    @classmethod
    def text(cls, content: str, **kw: Any) -> Reply:
        """A normal completion with ``content``."""
        return cls(content=content, **kw)

    @classmethod
    def error(cls, status: int, message: str = "injected error", **kw: Any) -> Reply:
        """An OpenAI-shaped error body with HTTP ``status``."""
        body = json.dumps({"error": {"message": message, "type": "injected", "code": status}})
        return cls(content=None, status=status, raw_body=body, **kw)

    @classmethod
    def rate_limited(cls, retry_after: float | str | None = 0, **kw: Any) -> Reply:
        """HTTP 429, with a Retry-After header when ``retry_after`` is not None."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return cls.error(429, "rate limited", headers=headers, **kw)

    @classmethod
    def slow(cls, seconds: float, content: str = "too late") -> Reply:
        """A completion sent only after ``seconds`` (past a short client timeout)."""
        return cls(content=content, delay=seconds)

    @classmethod
    def dropped(cls) -> Reply:
        """Close the connection without answering."""
        return cls(content=None, drop=True)

    @classmethod
    def truncated_body(cls, content: str = "cut") -> Reply:
        """A 200 whose JSON envelope is cut in half (Content-Length matches the cut body)."""
        full = _completion_body(Reply(content=content), {})
        return cls(content=None, raw_body=full[: len(full) // 2])

    @classmethod
    def cut_stream(cls, content: str = "a reply that never ends", after: int = 2) -> Reply:
        """When streamed, close the connection after ``after`` events (no finish, no [DONE])."""
        return cls(content=content, stream_cut_after=after)

    @classmethod
    def tool_call(cls, arguments: str, name: str = "reply") -> Reply:
        """A reply given as a call of tool ``name`` with JSON ``arguments`` (no content)."""
        return cls(
            content=None, tool_arguments=arguments, finish_reason="tool_calls", tool_name=name
        )

    @classmethod
    def refused(cls, text: str = "I'm sorry, but I can't help with that.") -> Reply:
        """A refusal: no content, the ``refusal`` field set."""
        return cls(content=None, refusal=text)


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return str(message["content"])
    return ""


def _usage(reply: Reply, body: dict[str, Any]) -> dict[str, int]:
    if reply.usage is not None:
        prompt, completion = reply.usage
    else:
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages") or [])
        prompt = max(1, prompt_chars // 4)
        completion = max(1, len(reply.content or reply.refusal or "") // 4)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion_body(reply: Reply, body: dict[str, Any]) -> str:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_arguments is not None:
        call = {"name": reply.tool_name, "arguments": reply.tool_arguments}
        message["tool_calls"] = [{"id": "call_0", "type": "function", "function": call}]
    if reply.refusal is not None:
        message["refusal"] = reply.refusal
    return json.dumps(
        {
            "id": "chatcmpl-fault",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": reply.model,
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
            "usage": _usage(reply, body),
        }
    )


def _stream_events(reply: Reply, body: dict[str, Any]) -> list[str]:
    text = reply.content if reply.content is not None else (reply.refusal or "")
    key = "content" if reply.content is not None else "refusal"
    pieces = [text[i : i + 7] for i in range(0, len(text), 7)] or [""]
    base = {"id": "chatcmpl-fault", "object": "chat.completion.chunk", "created": 0}
    base["model"] = reply.model
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    events += [{**base, "choices": [{"index": 0, "delta": {key: p}}]} for p in pieces]
    events.append(
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]}
    )
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append({**base, "choices": [], "usage": _usage(reply, body)})
    return [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 refuses connections when many clients connect at once; a
    # refused connection would look like an injected fault to the client.
    request_queue_size = 256
    daemon_threads = True


def echo(body: dict[str, Any]) -> Reply:
    """The default handler: reply ``echo: <last user message>``."""
    return Reply.text(f"echo: {_last_user_text(body)}")


class ChatServer:
    """The server; a context manager that starts it on a free port of 127.0.0.1."""

    def __init__(self, handler: Callable[[dict[str, Any]], Reply] = echo) -> None:
        self.handler = handler
        self.requests: list[dict[str, Any]] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The OpenAI ``base_url`` of this server (``http://127.0.0.1:<port>/v1``)."""
        if self._httpd is None:
            raise RuntimeError("the server is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def count(self) -> int:
        """Requests received so far (faults included)."""
        with self._lock:
            return len(self.requests)

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order, before using the handler."""
        with self._lock:
            self._queue.extend(replies)

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            queued = self._queue.popleft() if self._queue else None
        return queued if queued is not None else self.handler(body)

    def start(self) -> ChatServer:
        """Start serving in a daemon thread."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, the client's delayed ACK
            # adds ~40 ms to every request.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, json.dumps({"error": {"message": "no such route"}}), {})
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send(400, json.dumps({"error": {"message": "bad json"}}), {})
                    return
                reply = server._next_reply(body)
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                if reply.drop:
                    self.close_connection = True
                    return
                try:
                    if reply.raw_body is not None or reply.status != 200:
                        self._send(reply.status, reply.raw_body or "{}", reply.headers)
                    elif body.get("stream"):
                        self._stream(reply, body)
                    else:
                        self._send(200, _completion_body(reply, body), reply.headers)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (timeout)

            def _send(self, status: int, text: str, headers: dict[str, str]) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                events = _stream_events(reply, body)
                if reply.stream_cut_after is not None:
                    events = events[: reply.stream_cut_after]
                for event in events:
                    self.wfile.write(event.encode())
                    self.wfile.flush()
                self.close_connection = True

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake any slow reply still waiting."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
