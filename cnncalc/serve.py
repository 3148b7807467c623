"""`cnncalc serve`: a local page with a YAML editor beside the live graph and table.

Stage: an I/O edge (the network). In: the spec's text as the editor holds it (POST /api/analyze).
Out: JSON: the page's parts (report/web.py) or the errors, each rendered exactly as the CLI
renders it. The standard library's ThreadingHTTPServer, bound to 127.0.0.1: one page and one
endpoint for one local user need no framework and no new dependency. Only requests that name
this machine as their Host are answered (a web page elsewhere cannot reach it by DNS rebinding);
bodies are bounded; nothing is ever written to disk. It is built not to be worn down: every
request must arrive within a timeout, connections and analyses at a time are bounded, and an
analysis stops (cnncalc/budget.py) past its time, when its client leaves or a newer edit of the
same editor arrives (docs/web.md#limits).
"""

from __future__ import annotations

import io
import json
import re
import select
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cnncalc.budget import Budget, Cancelled, limited
from cnncalc.errors import CnncalcError, LimitError, Limits, Span, SpecErrors
from cnncalc.record import Record
from cnncalc.report.view import View

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_FILE = "untitled.yaml"  # the name messages give the editor's text when no SPEC was named
DEFAULT_SPEC = """\
# cnncalc serve: edit this spec; the graph and the table follow as you type.
# Every key: docs/spec.md. A bundled network to start from: cnncalc serve resnet18
name: small-cnn
input: [3, 32, 32]
args: {classes: 10}
layers:
  - conv: {name: conv1, out: 32, kernel: 3, pad: 1}
  - bn
  - relu
  - maxpool: {name: pool1, kernel: 2}
  - conv: {name: conv2, out: 64, kernel: 3, pad: 1}
  - bn
  - relu
  - maxpool: {name: pool2, kernel: 2}
  - flatten: {name: flatten}
  - linear: {name: fc1, out: 256}
  - relu
  - linear: {name: fc2, out: $classes}
"""


class Session(Record):
    """What every analysis of the editor's text shares: the command line's options."""

    text: str  # the spec's text when the page opens
    file: str  # the file name messages show (the SPEC's, as the CLI shows it)
    variant: str | None = None  # a family file's variant (efficientnet_b3 of efficientnet.yaml)
    input: list[int] | None = None  # --input
    args: Mapping[str, Any] | None = None  # --set
    batch: int = 1
    dtype: str = "float32"
    limits: Limits = Limits()
    layout: str | None = None  # --layout
    view: View = View()
    measure: str = "macs"  # what the graph's colour shows first
    budget_s: float = 10.0  # seconds one analysis may take, waiting for its turn included (--budget)


# `cnncalc serve`'s default limits, tighter than the library's: a request at these costs about
# 3 s and 250 MB at most (docs/web.md#limits); --limit raises them as for any command.
SERVE_LIMITS = {"file_bytes": 1024 * 1024, "layers": 100_000}


def analyze_text(session: Session, text: str) -> dict[str, Any]:
    """Analyse the editor's text: {"ok": True, payload, table, summary, caption} (report/web.py's
    parts), or {"ok": False, message: the CLI's whole message, errors: [{line, col, message}]},
    each with "ms", the time it took."""
    from cnncalc import api
    from cnncalc.report.web import parts
    from cnncalc.sources import Source

    started = time.perf_counter()
    try:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > session.limits.file_bytes:
            raise LimitError(Span(session.file, 1, 1), f"the file is {size:,} bytes", "file_bytes",
                             session.limits.file_bytes)
        analysis = api.analyze(Source(text, session.file, variant=session.variant), input=session.input,
                               args=session.args, batch=session.batch, dtype=session.dtype, limits=session.limits,
                               layout=session.layout)
        result: dict[str, Any] = {"ok": True, **parts(analysis, session.view, session.measure)}
    except Cancelled:  # the server answers for it (its budget ran out, its client left, ...)
        raise
    except CnncalcError as exc:
        result = {"ok": False, **error_result(exc, text)}
    result["ms"] = round(1000 * (time.perf_counter() - started), 2)
    return result


def error_result(exc: CnncalcError, text: str) -> dict[str, Any]:
    """The CLI's message for an error (exc.render(), as `cnncalc table` prints it on stderr) and,
    per error, its line and column with its first line and hint (what the editor shows at the line)."""
    from cnncalc.cli.common import flag_spelling
    from cnncalc.errors import MAX_ERRORS

    exc = flag_spelling(exc)
    each = exc.errors[:MAX_ERRORS] if isinstance(exc, SpecErrors) else [exc]
    marks = [{"line": e.line, "col": e.column, "message": e.render(lines=[])} for e in each]
    return {"message": exc.render(text), "errors": marks}


MAX_BODY_EXTRA = 64 * 1024  # bytes a request may add to the largest spec: JSON quoting and keys
TIMEOUT_S = 10.0  # seconds a request (line, headers, body) may take to arrive; an idle connection's life
MAX_CONNECTIONS = 64  # connections served at a time (a thread each); more are answered 503 at once
ANALYSES = 2  # analyses run at a time (each may hold up to ~250 MB at serve's limits); others wait
BACKLOG = 128  # connections the kernel queues before they are accepted (a burst of 50 is not reset)
LINGER_S = 1.0  # seconds spent reading what a refused client still sends, so closing does not reset it
MAX_EDITORS = 64  # editors (pages) whose latest edit is remembered, for a newer one to replace it
_LENGTH = re.compile(r"[0-9]{1,18}", re.ASCII)


def _refusal(status: int, phrase: str, message: str) -> bytes:
    """A whole response written without a handler (the 503 of a server with every thread busy)."""
    body = json.dumps({"ok": False, "message": message, "errors": []}).encode("utf-8")
    return (f"HTTP/1.1 {status} {phrase}\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n").encode("ascii") + body


BUSY = _refusal(503, "Service Unavailable", "cnncalc serve is busy: too many connections; try again")


class _Input(io.RawIOBase):
    """The connection's bytes, each read bounded by what is left of the request's time
    (`deadline`), so a request trickled in a byte at a time is cut off all the same."""

    def __init__(self, sock: socket.socket, timeout_s: float) -> None:
        super().__init__()
        self.sock, self.timeout_s = sock, timeout_s
        self.deadline: float | None = None  # None: between requests (each read waits timeout_s)
        self.timed_out = False  # a request's time ran out (it is answered 408)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wait = self.timeout_s
        if self.deadline is not None:
            wait = min(wait, self.deadline - time.monotonic())
            if wait <= 0:
                self.timed_out = True
                raise TimeoutError("the request did not arrive in time")
        self.sock.settimeout(wait)
        try:
            return self.sock.recv_into(buffer)
        except TimeoutError:
            self.timed_out = self.deadline is not None
            raise


class Handler(BaseHTTPRequestHandler):
    """GET / the page; POST /api/analyze {"text": ..., "editor": its page's id} the analysis as
    JSON. Anything else: a status line and a short JSON body saying why (404, 405, 408, 411, ...)."""

    server: Server
    server_version = "cnncalc"
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # a request line without a version still gets a status line

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a request per keystroke would flood the terminal."""

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self._input = _Input(self.connection, self.server.timeout_s)
        self.rfile = self._buffered = io.BufferedReader(self._input)
        self._answered = False  # a status line was sent for the request being handled
        self._linger = False  # the connection ends after a refusal: read what the client still sends

    def handle_one_request(self) -> None:
        """The standard library's, with the whole request bounded in time (TIMEOUT_S from its
        first byte): a request that does not arrive in time is answered 408; a connection idle
        for as long is closed."""
        self._input.deadline, self._input.timed_out, self._answered = None, False, False
        try:
            if not self._buffered.peek(1):  # the client closed its connection
                self.close_connection = True
                return
        except OSError:  # idle for timeout_s (a browser's kept-alive connection), or reset
            self.close_connection = True
            return
        self._input.deadline = time.monotonic() + self.server.timeout_s
        super().handle_one_request()  # on a timeout it closes the connection, saying nothing
        if self._input.timed_out and not self._answered:
            try:
                self._refuse(408, f"the request did not arrive within {self.server.timeout_s:g} s")
                self.wfile.flush()
            except OSError:
                pass

    def finish(self) -> None:
        super().finish()
        if self._linger:
            self._drain()

    def _drain(self) -> None:
        """After a refusal sent before the whole request was read (413, 408, a 1 MB header line):
        stop writing, then read and drop what the client still sends for up to LINGER_S, so that
        closing does not reset the connection before the client has read the answer."""
        sock = self.connection
        end = time.monotonic() + min(LINGER_S, self.server.timeout_s)
        try:
            sock.shutdown(socket.SHUT_WR)
            while (left := end - time.monotonic()) > 0:
                sock.settimeout(left)
                if not sock.recv(65536):
                    return
        except OSError:
            pass

    def send_response(self, code: int, message: str | None = None) -> None:
        self._answered = True
        self.connection.settimeout(self.server.timeout_s)  # writes: a whole timeout, whatever reads left
        super().send_response(code, message)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's refusals (a malformed request line or header, an unknown
        method, an oversized line) as the short JSON of every other refusal."""
        self._refuse(code, message or self.responses.get(code, ("error",))[0])

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        # the page may run its own inline script and talk to this server, and nothing else
        self.send_header("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; "
                         "style-src 'unsafe-inline'; connect-src 'self'; worker-src blob:; img-src data:; "
                         "frame-ancestors 'none'")
        if self.close_connection:
            self.send_header("Connection", "close")
            self._linger = status >= 400
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        # a lone surrogate (from JSON's "\ud800") is written as its JSON escape, still valid JSON
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8", "backslashreplace"),
                   "application/json; charset=utf-8")

    def _refuse(self, status: int, message: str) -> None:
        self.close_connection = True
        self._json(status, {"ok": False, "message": message, "errors": []})

    def _local(self) -> bool:
        """The Host names this server (127.0.0.1 or localhost, with its port); a POST's Origin too."""
        port = self.server.server_address[1]
        allowed = {f"{HOST}:{port}", f"localhost:{port}"}
        if self.headers.get("Host", "") not in allowed:
            self._refuse(403, "cnncalc serve answers only requests for " + f"http://{HOST}:{port}/")
            return False
        origin = self.headers.get("Origin")
        if self.command == "POST" and origin is not None and origin not in {f"http://{h}" for h in allowed}:
            self._refuse(403, "cnncalc serve answers only its own page")
            return False
        return True

    def do_GET(self) -> None:
        if not self._local():
            return
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send(200, self.server.page(), "text/html; charset=utf-8")
        else:
            self._refuse(404, f"no such page: {path[:80]}")

    def _length(self) -> int | None:
        """The body's length, or None once the request is refused: one Content-Length of ASCII
        digits, no larger than a spec may be, and no Transfer-Encoding (chunked bodies are not read)."""
        values = self.headers.get_all("Content-Length") or []
        if self.headers.get("Transfer-Encoding") is not None:
            self._refuse(400 if values else 411, "send the body with a Content-Length, not a Transfer-Encoding")
            return None
        if not values:
            self._refuse(411, "a request body needs its Content-Length")
            return None
        if len(values) > 1 or not _LENGTH.fullmatch(values[0].strip()):
            self._refuse(400, "the request needs one Content-Length, a number of bytes")
            return None
        length, most = int(values[0]), self.server.session.limits.file_bytes + MAX_BODY_EXTRA
        if length > most:
            self._refuse(413, f"the request is {length:,} bytes; a spec may be {most - MAX_BODY_EXTRA:,}")
            return None
        return length

    def do_POST(self) -> None:
        if not self._local():
            return
        if self.path.split("?", 1)[0] != "/api/analyze":
            self._refuse(404, "POST /api/analyze is the only endpoint")
            return
        length = self._length()
        if length is None:
            return
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            self._refuse(415, "send the spec as JSON: {\"text\": ...}")
            return
        body = self.rfile.read(length)
        if len(body) < length:  # the client stopped sending (a timeout is answered 408 instead)
            self._refuse(400, f"the body ended after {len(body):,} of its {length:,} bytes")
            return
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            self._refuse(400, "send the spec as JSON: {\"text\": ...}")
            return
        editor = data.get("editor")
        self._analyze(data["text"], editor if isinstance(editor, str) and len(editor) <= 100 else None)

    def _analyze(self, text: str, editor: str | None) -> None:
        """Analyse under a budget: the session's seconds, stopped when the client leaves or a
        newer edit of the same editor arrives (the page then waits for that one's answer)."""
        server = self.server
        generation = server.begin(editor)

        def stop() -> str | None:
            if self._gone():
                return "gone"
            return "superseded" if server.superseded(editor, generation) else None

        budget = Budget(server.session.budget_s, stop)
        try:
            with server.turn(budget), limited(budget):
                result = analyze_text(server.session, text)
        except Cancelled as exc:
            if exc.reason == "gone":  # nobody is left to read an answer
                self.close_connection = True
            elif exc.reason == "superseded":
                self._json(409, {"ok": False, "superseded": True, "errors": [],
                                 "message": "a newer edit replaced this one"})
            else:
                exc.hint = "a network this large is analysed in full by `cnncalc table` (no time limit)"
                self._json(200, {"ok": False, **error_result(exc, text), "ms": round(1000 * server.session.budget_s, 2)})
            return
        except Exception as exc:  # a bug in cnncalc: say so here, keep the traceback for the terminal
            import traceback

            traceback.print_exc(file=sys.stderr)
            self._json(500, {"ok": False, "errors": [], "message": f"internal error (a bug in cnncalc): "
                             f"{type(exc).__name__}: {exc}; the traceback is in the terminal"})
            return
        self._json(200, result)

    def _gone(self) -> bool:
        """The client closed its connection (the page aborted its request): readable, and at its end."""
        try:
            if not select.select([self.connection], [], [], 0)[0]:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


class Server(ThreadingHTTPServer):
    """The editor's server: its session, the page built once for it, and its bounds: the
    request timeout, the connections and analyses at a time, each editor's latest edit."""

    daemon_threads = True
    allow_reuse_address = False  # a port another process holds is busy, not shared
    request_queue_size = BACKLOG

    def __init__(self, session: Session, port: int, timeout_s: float = TIMEOUT_S,
                 max_connections: int = MAX_CONNECTIONS, analyses: int = ANALYSES) -> None:
        self.session = session
        self.timeout_s, self.max_connections = timeout_s, max_connections
        self._page: bytes | None = None
        self._lock = threading.Lock()
        self.connections = 0  # connections being served (a thread each)
        self.running = 0  # analyses running
        self._turns = threading.BoundedSemaphore(analyses)
        self._generation = 0
        self._latest: dict[str, int] = {}  # editor -> the generation of its latest edit
        super().__init__((HOST, port), Handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread per connection, up to max_connections; past that a 503 written at once."""
        with self._lock:
            busy = self.connections >= self.max_connections
            if not busy:
                self.connections += 1
        if not busy:
            try:
                super().process_request(request, client_address)
            except BaseException:  # no thread could be started
                with self._lock:
                    self.connections -= 1
                raise
            return
        try:
            request.setblocking(False)
            try:
                request.recv(65536)  # what has arrived, so closing does not reset the answer away
            except OSError:
                pass
            request.send(BUSY)
        except OSError:
            pass
        self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                self.connections -= 1

    @contextmanager
    def turn(self, budget: Budget) -> Iterator[None]:
        """One of the analyses at a time, waited for under the budget (it may be cancelled meanwhile)."""
        while not self._turns.acquire(timeout=0.05):
            budget.check()
        with self._lock:
            self.running += 1
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
            self._turns.release()

    def begin(self, editor: str | None) -> int:
        """A new edit of `editor` (its page's id): it replaces the one before; returns its generation."""
        with self._lock:
            self._generation += 1
            if editor is not None:
                self._latest.pop(editor, None)
                self._latest[editor] = self._generation
                if len(self._latest) > MAX_EDITORS:
                    del self._latest[next(iter(self._latest))]
            return self._generation

    def superseded(self, editor: str | None, generation: int) -> bool:
        """A newer edit of the same editor has arrived."""
        return editor is not None and self._latest.get(editor, generation) != generation

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that closes its connection early (a reload, a newer request) is normal: say
        nothing. Anything else is one line on stderr, never socketserver's traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        print(f"cnncalc serve: a request failed: {type(exc).__name__}: {exc}", file=sys.stderr)

    def page(self) -> bytes:
        """The editor's page with the first analysis in it (built on the first request)."""
        if self._page is None:
            from cnncalc.report.web import page

            first = analyze_text(self.session, self.session.text)
            editor = {"file": self.session.file, "text": self.session.text, "result": first}
            self._page = page(None, self.session.view, self.session.measure, "serve", editor).encode("utf-8")
        return self._page


def make_server(session: Session, port: int = DEFAULT_PORT, **bounds: Any) -> tuple[Server, bool]:
    """A server on 127.0.0.1:port, or on a free port when that one is taken (port 0: always a
    free one). Returns it and whether it took another port than the one asked for. bounds:
    Server's timeout_s, max_connections and analyses (the tests' shorter ones)."""
    import errno

    try:
        return Server(session, port, **bounds), False
    except OSError as exc:
        if port == 0 or exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
    return Server(session, 0, **bounds), True
