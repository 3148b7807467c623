"""`cnncalc serve` is not worn down: bursts of connections, slow clients, aborted and superseded
heavy analyses, many distinct expressions and malformed requests each get a status line, and the
server's threads, running analyses and memory come back to where they were.

Everything runs on 127.0.0.1 against a server in a thread of this process, with a 1 s request
timeout; each wait is bounded and generous (a slow CI machine passes, a server that never
stops does not).
"""

from __future__ import annotations

import gc
import json
import select
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from cnncalc.errors import Limits
from cnncalc.serve import BUSY, DEFAULT_FILE, DEFAULT_SPEC, Server, Session, make_server
from cnncalc.spec import expr

TIMEOUT_S = 1.0  # the test server's request timeout
# about 300,000 layers: several seconds to analyse, unless stopped (far sooner)
HEAVY = """\
name: heavy
input: [3, 8, 8]
blocks:
  b:
    layers:
      - relu: {repeat: 100}
layers:
  - b: {repeat: 3000}
"""


@pytest.fixture
def server() -> Iterator[Server]:
    session = Session(DEFAULT_SPEC, DEFAULT_FILE, limits=Limits(layers=400_000), budget_s=60.0)
    srv, _ = make_server(session, 0, timeout_s=TIMEOUT_S)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    baseline = threading.active_count()
    thread.start()
    srv.baseline = baseline + 1  # type: ignore[attr-defined]  # this test's threads and the server's
    yield srv
    srv.shutdown()
    srv.server_close()


def eventually(test: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Whether test() becomes true within `seconds` (polled)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if test():
            return True
        time.sleep(0.02)
    return test()


def settled(srv: Server) -> bool:
    """No connection served, no analysis running, no thread left but the server's."""
    return eventually(lambda: srv.connections == 0 and srv.running == 0
                      and threading.active_count() <= srv.baseline)  # type: ignore[attr-defined]


def connect(srv: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", srv.server_address[1]), timeout=15)
    return sock


def host(srv: Server) -> str:
    return f"127.0.0.1:{srv.server_address[1]}"


def post_bytes(srv: Server, payload: object, extra: str = "") -> bytes:
    body = json.dumps(payload).encode("utf-8")
    return (f"POST /api/analyze HTTP/1.1\r\nHost: {host(srv)}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode("latin-1") + body


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response: its status, headers and body (read to its Content-Length, or to the end)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1."), f"no status line: {data[:200]!r}"
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    length = int(headers.get("content-length", -1))
    while length < 0 or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def exchange(srv: Server, data: bytes, shut: bool = False) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes (then, with shut, close our sending side) and read one response."""
    with connect(srv) as sock:
        try:
            sock.sendall(data)
            if shut:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server refused early and stopped reading: its answer is still there
            pass
        return read_response(sock)


# ---- malformed requests: each gets a status line and a short body; the server stays up ---------

def _cases(h: str) -> list[tuple[str, bytes, bool, int]]:
    post = f"POST /api/analyze HTTP/1.1\r\nHost: {h}\r\nContent-Type: application/json\r\n"
    ok = b'{"text": "x"}'
    return [
        ("bad request line", b"GARBAGE\r\n\r\n", False, 400),
        ("unknown version", f"GET / HTTP/9.9\r\nHost: {h}\r\n\r\n".encode(), False, 505),
        ("no version", b"GET /\r\n\r\n", False, 403),
        ("non-ASCII path", f"GET /\xe9\xff/x HTTP/1.1\r\nHost: {h}\r\n\r\n".encode("latin-1"), False, 404),
        ("UTF-8 path", f"GET /caf\u00e9 HTTP/1.1\r\nHost: {h}\r\n\r\n".encode(), False, 404),
        ("no Host", b"GET / HTTP/1.1\r\n\r\n", False, 403),
        ("HEAD", f"HEAD / HTTP/1.1\r\nHost: {h}\r\n\r\n".encode(), False, 501),
        ("PUT", f"PUT /api/analyze HTTP/1.1\r\nHost: {h}\r\nContent-Length: 2\r\n\r\n{{}}".encode(), False, 501),
        ("DELETE", f"DELETE / HTTP/1.1\r\nHost: {h}\r\n\r\n".encode(), False, 501),
        ("chunked, no length", (post + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").encode(), False, 411),
        ("chunked and a length", (post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello").encode(),
         False, 400),
        ("body shorter, then closed", (post + "Content-Length: 100\r\n\r\n{\"text\"").encode(), True, 400),
        ("negative length", (post + "Content-Length: -5\r\n\r\n").encode(), False, 400),
        ("huge length", (post + "Content-Length: 99999999999999999999999999\r\n\r\n").encode(), False, 400),
        ("too large", (post + "Content-Length: 999999999999\r\n\r\n").encode(), False, 413),
        ("non-ASCII digit length", (post + "Content-Length: \xb2\r\n\r\n").encode("latin-1"), False, 400),
        ("two lengths", (post + "Content-Length: 13\r\nContent-Length: 14\r\n\r\n").encode() + ok, False, 400),
        ("no length", (post + "\r\n").encode(), False, 411),
        ("invalid JSON", (post + "Content-Length: 8\r\n\r\n{no json").encode(), False, 400),
        ("JSON list", (post + "Content-Length: 8\r\n\r\n[\"text\"]").encode(), False, 400),
        ("JSON string", (post + "Content-Length: 6\r\n\r\n\"text\"").encode(), False, 400),
        ("deep JSON", (post + "Content-Length: 200000\r\n\r\n").encode() + b"[" * 200_000, False, 400),
        ("invalid UTF-8", (post + "Content-Length: 12\r\n\r\n").encode() + b'{"text":"\xff"}', False, 400),
        ("1 MB header line", f"GET / HTTP/1.1\r\nHost: {h}\r\nX-Big: ".encode() + b"a" * 1_000_000 + b"\r\n\r\n",
         False, 431),
        ("many headers", f"GET / HTTP/1.1\r\nHost: {h}\r\n".encode() + b"X-A: 1\r\n" * 500 + b"\r\n", False, 431),
        ("long request line", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n", False, 414),
    ]


def test_malformed_requests_each_get_a_status_line(server):
    for name, data, shut, status in _cases(host(server)):
        got, _, body = exchange(server, data, shut)
        assert got == status, name
        if name != "HEAD":
            assert 0 < len(body) < 1000 and json.loads(body)["ok"] is False, name
    got, _, body = exchange(server, post_bytes(server, {"text": DEFAULT_SPEC}))
    assert got == 200 and json.loads(body)["ok"]  # still up
    assert settled(server)


def test_lone_surrogates_are_analysed_and_answered_as_json(server):
    body = b'{"text": "name: x\\ud800\\n"}'
    data = (f"POST /api/analyze HTTP/1.1\r\nHost: {host(server)}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    got, _, answer = exchange(server, data)
    assert got == 200 and json.loads(answer)["ok"] is False


def test_expect_100_continue_gets_its_interim_and_final_status(server):
    body = json.dumps({"text": DEFAULT_SPEC}).encode()
    with connect(server) as sock:
        sock.sendall((f"POST /api/analyze HTTP/1.1\r\nHost: {host(server)}\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n").encode())
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):  # byte by byte: the final answer is not read here
            interim += sock.recv(1)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(body)
        status, _, answer = read_response(sock)
    assert status == 200 and json.loads(answer)["ok"]


# ---- bursts and slow clients --------------------------------------------------------------------

def test_a_burst_of_50_connections_is_queued_and_answered_in_full():
    # 50 connections opened before the server accepts any: the listen backlog alone holds them
    # (with socketserver's default of 5, the kernel drops the others' handshakes), then the
    # server answers each one
    srv, _ = make_server(Session(DEFAULT_SPEC, DEFAULT_FILE), 0, timeout_s=TIMEOUT_S)
    baseline = threading.active_count()
    socks: list[socket.socket] = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    try:
        for _ in range(50):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", srv.server_address[1]))
            socks.append(sock)
        connected = select.select([], socks, [], 5)[1]
        assert len(connected) == 50 and not any(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) for s in socks)
        thread.start()
        request = post_bytes(srv, {"text": DEFAULT_SPEC})
        for sock in socks:
            sock.setblocking(True)
            sock.settimeout(15)
            sock.sendall(request)
        assert [read_response(sock)[0] for sock in socks] == [200] * 50
        for sock in socks:
            sock.close()
        assert eventually(lambda: srv.connections == 0 and threading.active_count() <= baseline + 1)
    finally:
        for sock in socks:
            sock.close()
        if thread.is_alive():  # shutdown() waits for a serve_forever() that was started
            srv.shutdown()
        srv.server_close()


def test_slow_clients_are_cut_off_and_their_threads_end(server):
    started = time.monotonic()
    partial = f"POST /api/analyze HTTP/1.1\r\nHost: {host(server)}\r\n".encode()
    short_body = (f"POST /api/analyze HTTP/1.1\r\nHost: {host(server)}\r\nContent-Type: application/json\r\n"
                  "Content-Length: 100\r\n\r\n{\"te").encode()
    trickled = [connect(server) for _ in range(8)]  # slowloris: a header byte every 0.2 s, forever
    for sock in trickled:
        sock.sendall(partial)
    quiet = connect(server)  # a body shorter than its Content-Length, then silence
    quiet.sendall(short_body)
    idle = connect(server)  # connects and sends nothing
    assert eventually(lambda: server.connections == 10)
    answers: dict[socket.socket, bytes] = {}
    end = time.monotonic() + 8
    while time.monotonic() < end and len(answers) < 10:
        for sock in trickled:
            if sock not in answers:
                try:
                    sock.send(b"X")
                except OSError:
                    pass
        readable = select.select([s for s in [*trickled, quiet] if s not in answers], [], [], 0.2)[0]
        for sock in readable:
            answers[sock] = sock.recv(200)
        if idle not in answers and select.select([idle], [], [], 0)[0]:
            answers[idle] = idle.recv(200)
    assert all(answers.get(s, b"").startswith(b"HTTP/1.1 408") for s in [*trickled, quiet])
    assert answers.get(idle) == b""  # an idle connection is closed, without a word
    assert time.monotonic() - started < 6 * TIMEOUT_S + 2  # cut off at the timeout, not when the client leaves
    for sock in [*trickled, quiet, idle]:
        sock.close()
    assert settled(server)


def test_connections_past_the_bound_get_503_at_once():
    srv, _ = make_server(Session(DEFAULT_SPEC, DEFAULT_FILE), 0, timeout_s=TIMEOUT_S, max_connections=3)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        held = [connect(srv) for _ in range(3)]
        assert eventually(lambda: srv.connections == 3)
        with connect(srv) as extra:
            assert extra.recv(len(BUSY) + 10) == BUSY
        for sock in held:
            sock.close()
        assert eventually(lambda: srv.connections == 0)
        assert exchange(srv, post_bytes(srv, {"text": DEFAULT_SPEC}))[0] == 200  # served again
    finally:
        srv.shutdown()
        srv.server_close()


# ---- heavy analyses: stopped when their client leaves, a newer edit arrives, or time runs out ---

def test_an_aborted_heavy_request_stops_computing(server):
    sock = connect(server)
    sock.sendall(post_bytes(server, {"text": HEAVY}))
    assert eventually(lambda: server.running == 1)
    started = time.monotonic()
    sock.close()  # the page aborted its fetch
    assert eventually(lambda: server.running == 0, 5.0)
    assert time.monotonic() - started < 5.0
    assert settled(server)


def test_a_newer_edit_cancels_the_running_heavy_one(server):
    heavy: list[tuple[int, dict[str, str], bytes]] = []
    thread = threading.Thread(target=lambda: heavy.append(
        exchange(server, post_bytes(server, {"text": HEAVY, "editor": "page-1"}))))
    thread.start()
    assert eventually(lambda: server.running == 1)
    got, _, body = exchange(server, post_bytes(server, {"text": DEFAULT_SPEC, "editor": "page-1"}))
    assert got == 200 and json.loads(body)["ok"]
    thread.join(10)
    status, _, body = heavy[0]
    assert status == 409 and json.loads(body)["superseded"] is True
    assert settled(server)


def test_another_editors_edit_does_not_cancel(server):
    assert exchange(server, post_bytes(server, {"text": DEFAULT_SPEC, "editor": "page-1"}))[0] == 200
    other = server.begin("page-2")
    mine = server.begin("page-1")
    assert server.superseded("page-2", other) is False  # another page's edit leaves it alone
    assert server.superseded("page-1", mine) is False
    server.begin("page-1")
    assert server.superseded("page-1", mine) is True  # its own newer edit replaces it


def test_an_analysis_past_its_budget_answers_an_error(server):
    server.session = server.session._replace(budget_s=0.3)
    started = time.monotonic()
    got, _, body = exchange(server, post_bytes(server, {"text": HEAVY}))
    result = json.loads(body)
    assert got == 200 and result["ok"] is False and "took more than 0.3 s" in result["message"]
    assert time.monotonic() - started < 5.0
    assert settled(server)


# ---- memory: many distinct expressions do not grow the expression cache without bound ---------

def _expressions(count: int, width: int, offset: int) -> str:
    """A spec of `count` 1x1 convs whose `out` is a distinct expression of about `width` characters."""
    lines = ["name: exprs", "input: [3, 4, 4]", "args: {k: 8}", "layers:"]
    for i in range(offset, offset + count):
        text = f"$k + {i} - {i}"
        lines.append(f'  - conv: {{out: "{text + " + 0" * max(0, (width - len(text)) // 4)}", kernel: 1}}')
    return "\n".join(lines) + "\n"


def test_1000_distinct_expressions_leave_memory_and_threads_where_they_were(server):
    exchange(server, post_bytes(server, {"text": _expressions(10, 20, 0)}))  # warm up
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for offset, width in ((1000, 20), (2000, 90), (3000, 700)):  # short, the longest kept, long
            got, _, body = exchange(server, post_bytes(server, {"text": _expressions(1000, width, offset)}))
            assert got == 200 and json.loads(body)["ok"], body[:300]
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # at most CACHE_SIZE trees of CACHE_TEXT characters (about 8 MB); the unbounded cache kept
    # every one of the 700-character trees (about 230 MB)
    assert grown < 16 * 1024 * 1024, f"{grown:,} bytes kept"
    assert expr._parse.cache_info().currsize <= expr.CACHE_SIZE
    assert settled(server)
