"""`cnncalc serve`: a local page with a YAML editor beside the live graph and table.

Stage: an I/O edge (the network). In: the spec's text as the editor holds it (POST /api/analyze).
Out: JSON: the page's parts (report/web.py) or the errors, each rendered exactly as the CLI
renders it. The standard library's ThreadingHTTPServer, bound to 127.0.0.1: one page and one
endpoint for one local user need no framework and no new dependency. Only requests that name
this machine as their Host are answered (a web page elsewhere cannot reach it by DNS rebinding);
bodies are bounded; nothing is ever written to disk.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

from cnncalc.errors import CnncalcError, LimitError, Limits, Span, SpecErrors
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


class Session(NamedTuple):
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


class Handler(BaseHTTPRequestHandler):
    """GET / the page; POST /api/analyze {"text": ...} the analysis as JSON. Anything else: 404."""

    server: Server
    server_version = "cnncalc"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a request per keystroke would flood the terminal."""

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
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

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

    def do_POST(self) -> None:
        if not self._local():
            return
        if self.path.split("?", 1)[0] != "/api/analyze":
            self._refuse(404, "POST /api/analyze is the only endpoint")
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self._refuse(411, "a request body needs its Content-Length")
            return
        most = self.server.session.limits.file_bytes + MAX_BODY_EXTRA
        if int(length) > most:
            self._refuse(413, f"the request is {int(length):,} bytes; a spec may be {most - MAX_BODY_EXTRA:,}")
            return
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            self._refuse(415, "send the spec as JSON: {\"text\": ...}")
            return
        try:
            data = json.loads(self.rfile.read(int(length)).decode("utf-8"))
            text = data["text"]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            self._refuse(400, "send the spec as JSON: {\"text\": ...}")
            return
        try:
            result = analyze_text(self.server.session, text)
        except Exception as exc:  # a bug in cnncalc: say so here, keep the traceback for the terminal
            import traceback

            traceback.print_exc(file=sys.stderr)
            self._json(500, {"ok": False, "errors": [], "message": f"internal error (a bug in cnncalc): "
                             f"{type(exc).__name__}: {exc}; the traceback is in the terminal"})
            return
        self._json(200, result)


class Server(ThreadingHTTPServer):
    """The editor's server: its session, and the page built once for it."""

    daemon_threads = True
    allow_reuse_address = False  # a port another process holds is busy, not shared

    def __init__(self, session: Session, port: int) -> None:
        self.session = session
        self._page: bytes | None = None
        super().__init__((HOST, port), Handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"

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


def make_server(session: Session, port: int = DEFAULT_PORT) -> tuple[Server, bool]:
    """A server on 127.0.0.1:port, or on a free port when that one is taken (port 0: always a
    free one). Returns it and whether it took another port than the one asked for."""
    import errno

    try:
        return Server(session, port), False
    except OSError as exc:
        if port == 0 or exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            raise
    return Server(session, 0), True
