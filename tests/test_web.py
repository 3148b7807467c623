"""The interactive pages' data and the live editor's server, without a browser: the payload's
exact integers, the summary by layer type, the graph's folding, escaping, and `cnncalc serve`'s
endpoint (what it answers, what it refuses). tests/test_browser.py drives the same pages in Chromium."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import cnncalc
from cnncalc.ops import REGISTRY
from cnncalc.report import web
from cnncalc.report.view import View, display_rows
from cnncalc.serve import DEFAULT_FILE, DEFAULT_SPEC, Session, analyze_text, make_server
from tests.conftest import analyse_text, cli_error, run_cli

REPO = Path(__file__).resolve().parent.parent


def test_every_op_has_a_summary_category():
    assert {op.category for op in REGISTRY.values()} <= set(web.CATEGORIES)
    assert REGISTRY["conv"].category == "conv" and REGISTRY["linear"].category == "linear"
    assert REGISTRY["bn"].category == "norm" and REGISTRY["global_avgpool"].category == "pooling"
    assert REGISTRY["attention"].category == "attention" and REGISTRY["relu"].category == "other"


@pytest.mark.parametrize("name", ["alexnet", "resnet50", "googlenet", "vit_b_16"])
def test_summary_by_type_sums_to_the_totals(name):
    a = cnncalc.analyze(name)
    view = View()
    summary = web.summary_by_type(a, view)
    assert sum(s["layers"] for s in summary) == len(a.rows)
    assert sum(s["params"] for s in summary) == a.totals.params
    assert sum(s["flop"] for s in summary) == a.total_counted("lecture")
    assert sum(s["memory_bytes"] for s in summary) == a.totals.memory_bytes
    assert all(type(s[k]) is int for s in summary for k in ("layers", "params", "flop", "memory_bytes"))


def test_alexnet_summary_by_hand():
    # AlexNet (EECS 498): the 3 linear layers hold 58,631,144 of its 61,100,840 params = 96.0 %
    a = cnncalc.analyze("alexnet")
    linear = next(s for s in web.summary_by_type(a, View()) if s["category"] == "linear")
    assert (linear["layers"], linear["params"]) == (3, 9216 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000)
    assert web.percent(linear["params"], a.totals.params) == "96.0"
    assert 'data-category="linear"' in web.summary_html(a, View())


def test_payload_rows_are_the_tables_rows_with_exact_ints():
    a = cnncalc.analyze("resnet18", batch=10**12)  # past 2**53: JSON ints stay exact
    view = View()
    payload = web.payload(a, view)
    rows = display_rows(a, view)
    assert [r["name"] for r in payload["rows"]] == [r.name for r in rows]
    assert sum(r["flop"] for r in payload["rows"]) == payload["totals"]["flop"] == a.total_counted("lecture")
    assert sum(r["memory_bytes"] for r in payload["rows"]) == a.totals.memory_bytes
    assert max(r["flop"] for r in payload["rows"]) > 2**53
    assert json.loads(web.script_json(payload)) == payload  # ints round-trip exactly


def test_full_depth_drawing_maps_row_i_to_node_i_plus_1():
    a = cnncalc.analyze("resnet18")
    payload = web.payload(a, View())
    shown = payload["graphs"][payload["graph"]]
    assert shown["all"] and len(shown["drawing"]["nodes"]) == len(payload["rows"]) + 1
    assert shown["row_nodes"] == [[i + 1] for i in range(len(payload["rows"]))]
    assert [n["row"] for n in shown["drawing"]["nodes"]] == list(range(-1, len(payload["rows"])))


def test_a_big_graph_is_folded_first_and_every_depth_is_offered():
    a = cnncalc.analyze("densenet201")
    payload = web.payload(a, View())
    sizes = [(g["depth"], len(g["drawing"]["nodes"])) for g in payload["graphs"]]
    assert sizes == [(1, 14), (2, 114), (3, 408)]
    assert payload["graphs"][-1]["all"]
    assert payload["graphs"][payload["graph"]]["depth"] == 2  # the finest that fits MAX_GRAPH_NODES
    folded = payload["graphs"][1]
    # every table row lies in exactly one folded node; the 7 layers of denseblock1.0 in one
    assert all(len(nodes) == 1 for nodes in folded["row_nodes"])
    ids = [n["id"] for n in folded["drawing"]["nodes"]]
    held = [i for i, nodes in enumerate(folded["row_nodes"]) if ids[nodes[0]] == "denseblock1.0"]
    assert [payload["rows"][i]["name"] for i in held] == [r.name for r in display_rows(a, View())
                                                         if r.name.startswith("denseblock1.0.")]


def test_depth_folds_graph_and_table_alike():
    a = cnncalc.analyze("resnet50")
    payload = web.payload(a, View(depth=1))
    shown = payload["graphs"][payload["graph"]]
    assert shown["depth"] == 1
    assert [n["id"] for n in shown["drawing"]["nodes"][1:]] == [r["name"] for r in payload["rows"]] \
        == ["conv1", "pool1", "conv2_x", "conv3_x", "conv4_x", "conv5_x", "pool5", "flatten", "fc"]


def test_page_table_has_one_layer_row_per_payload_row():
    a = cnncalc.analyze("resnet50")
    page = web.report_page(a, View())
    data = json.loads(re.search(r'<script type="application/json" id="cnncalc-data">(.*?)</script>', page, re.S)[1])
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    layer_rows = body.count("<tr>")  # subtotal and total rows carry a class
    assert layer_rows == len(data["payload"]["rows"]) == len(display_rows(a, View()))
    assert data["mode"] == "report"


def test_a_name_cannot_end_the_pages_script():
    spec = 'name: "</script><script>alert(1)</script><!--"\ninput: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3}\n'
    page = web.report_page(analyse_text(spec), View())
    assert page.count("</script>") == page.count("<script") == 3  # the data, dagre and the app
    assert "alert(1)" in page and "<script>alert" not in page


def test_several_specs_in_html_are_one_page_of_tables():
    page = run_cli("table", "alexnet", "vgg16", "--format", "html").stdout
    assert page.count("<!DOCTYPE html>") == 1 and page.count("<table>") == 2 and "<script" not in page
    assert "<h1>alexnet: input 3x227x227</h1>" in page and "<h1>vgg16: input 3x224x224</h1>" in page


def test_graph_page_is_graph_first():
    page = web.graph_page(cnncalc.analyze("alexnet"), View(), "memory")
    assert '<body class="mode-graph">' in page and '"measure":"memory"' in page
    with pytest.raises(ValueError, match="measure"):
        web.graph_page(cnncalc.analyze("alexnet"), View(), "weight")


def test_html_report_imports_neither_torch_nor_matplotlib():
    code = ("import sys\nfrom cnncalc.cli import cli\n"
            "try:\n    cli(['table', 'googlenet', '--format', 'html'])\nexcept SystemExit as exc:\n    assert exc.code in (0, None)\n"
            "from cnncalc.serve import Session, analyze_text\nassert analyze_text(Session('x', 'x.yaml'), 'x: [')['ok'] is False\n"
            "sys.stderr.write(repr(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'matplotlib'))))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.strip().endswith("[]"), proc.stderr[-500:]


# ---- the live editor's analysis ---------------------------------------------------------

@pytest.mark.parametrize("typo, line", [
    ("conv2, out: 64, kernal: 3", 11),  # a wrong key
    ("conv2, out: 64, kernel: three", 11),  # a wrong value
])
def test_editor_errors_are_the_clis_message(tmp_path, typo, line):
    text = DEFAULT_SPEC.replace("conv2, out: 64, kernel: 3", typo)
    result = analyze_text(Session(DEFAULT_SPEC, DEFAULT_FILE), text)
    assert result["ok"] is False
    assert result["message"] == cli_error(tmp_path, DEFAULT_FILE, text)
    assert [e["line"] for e in result["errors"]] == [line]
    assert result["errors"][0]["message"].startswith(f"{DEFAULT_FILE}:{line}:")


def test_editor_reports_every_error_of_a_file_at_its_line(tmp_path):
    text = DEFAULT_SPEC.replace("kernel: 3, pad: 1}", "kernal: 3, pad: 1}").replace("out: 256", "outt: 256")
    result = analyze_text(Session(DEFAULT_SPEC, DEFAULT_FILE), text)
    assert result["message"] == cli_error(tmp_path, DEFAULT_FILE, text)
    assert [e["line"] for e in result["errors"]] == [7, 11, 16]
    assert result["message"].endswith("3 errors")


def test_editor_bad_indentation_is_a_yaml_error_at_its_line(tmp_path):
    text = DEFAULT_SPEC + "   - relu\n"
    result = analyze_text(Session(DEFAULT_SPEC, DEFAULT_FILE), text)
    assert result["message"] == cli_error(tmp_path, DEFAULT_FILE, text)
    assert result["errors"][0]["line"] == text.count("\n")


def test_editor_keeps_the_bundled_files_name_and_variant():
    from cnncalc.sources import find

    source = find("efficientnet_b3")
    session = Session(source.text, source.file, source.variant)
    ok = analyze_text(session, source.text)
    assert ok["ok"] and ok["payload"]["totals"]["params"] == cnncalc.analyze("efficientnet_b3").totals.params
    bad = analyze_text(session, source.text.replace("input:", "inptu:", 1))
    assert bad["errors"][0]["message"].startswith("efficientnet.yaml:")


def test_editor_refuses_a_spec_over_the_size_limit():
    from cnncalc.errors import Limits

    result = analyze_text(Session("", "big.yaml", limits=Limits(file_bytes=100)), "#" * 101)
    assert result["ok"] is False and result["message"].startswith("big.yaml:1:1: error: the file is 101 bytes")


def test_resnet152_reanalysis_time_is_recorded(capsys):
    from cnncalc.sources import find

    source = find("resnet152")
    session = Session(source.text, source.file)
    times = sorted(analyze_text(session, source.text + f"\n# edit {i}\n")["ms"] for i in range(7))
    assert all(t > 0 for t in times)
    print(f"resnet152 re-analysis (analyze_text), median of 7: {times[3]:.1f} ms")  # docs/performance.md


# ---- the server --------------------------------------------------------------------------

@pytest.fixture
def server():
    srv, moved = make_server(Session(DEFAULT_SPEC, DEFAULT_FILE), 0)
    assert not moved
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def request(srv, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    port = srv.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{port}", **(headers or {})})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data


def post(srv, payload: dict, **headers):
    body = json.dumps(payload).encode()
    return request(srv, "POST", "/api/analyze", body, {"Content-Type": "application/json", **headers})


def test_server_binds_to_localhost_only(server):
    assert server.server_address[0] == "127.0.0.1"
    assert server.url == f"http://127.0.0.1:{server.server_address[1]}/"


def test_server_serves_the_editor_page(server):
    resp, data = request(server, "GET", "/")
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/html")
    assert "default-src 'none'" in resp.getheader("Content-Security-Policy")
    page = data.decode()
    assert '<body class="mode-serve">' in page and 'id="yaml"' in page and "small-cnn" in page


def test_server_analyses_posted_text(server):
    resp, data = post(server, {"text": DEFAULT_SPEC})
    result = json.loads(data)
    assert resp.status == 200 and result["ok"] and len(result["payload"]["rows"]) == 7
    resp, data = post(server, {"text": DEFAULT_SPEC.replace("kernel: 3, pad", "kernal: 3, pad", 1)})
    result = json.loads(data)
    assert resp.status == 200 and result["ok"] is False and result["errors"][0]["line"] == 7


@pytest.mark.parametrize("host", ["evil.example:80", "127.0.0.1.nip.io", "", "localhost"])
def test_server_refuses_other_hosts(server, host):
    resp, _ = request(server, "GET", "/", headers={"Host": host})
    assert resp.status == 403


def test_server_refuses_another_sites_page(server):
    resp, _ = post(server, {"text": DEFAULT_SPEC}, Origin="http://evil.example")
    assert resp.status == 403
    port = server.server_address[1]
    resp, _ = post(server, {"text": DEFAULT_SPEC}, Origin=f"http://localhost:{port}")
    assert resp.status == 200


def test_server_refuses_malformed_requests(server):
    assert request(server, "GET", "/etc/passwd")[0].status == 404
    assert request(server, "POST", "/api/other", b"{}", {"Content-Type": "application/json"})[0].status == 404
    assert request(server, "POST", "/api/analyze", b"text", {"Content-Type": "text/plain"})[0].status == 415
    assert request(server, "POST", "/api/analyze", b"{no json", {"Content-Type": "application/json"})[0].status == 400
    assert post(server, {"text": 3})[0].status == 400


def test_server_limits_the_body_size(server):
    port = server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", "/api/analyze", skip_host=True)
    conn.putheader("Host", f"127.0.0.1:{port}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(100 * 1024 * 1024))
    conn.endheaders()  # the body is never sent: the size alone is refused
    resp = conn.getresponse()
    assert resp.status == 413 and b"a spec may be 4,194,304" in resp.read()
    conn.close()


def test_serve_command_prints_its_url_and_stops_cleanly_on_ctrl_c():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        proc = subprocess.Popen([sys.executable, "-m", "cnncalc", "serve", "alexnet", "--no-open", "--port", str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(REPO)})
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert url and int(url[1]) != port, line  # the port asked for is taken: another one
        conn = http.client.HTTPConnection("127.0.0.1", int(url[1]), timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        busy.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and f"port {port} is taken" in err
    assert "editing alexnet.yaml" in line


def test_serve_help_has_an_example():
    result = run_cli("serve", "--help")
    assert result.exit_code == 0 and "Example: cnncalc serve resnet18" in result.output


def test_a_dropped_connection_is_silent_and_other_failures_one_line(server, capsys):
    # a browser that closes the connection before the answer is written (a reload, a newer
    # request): socketserver would print a traceback; the editor's server says nothing
    for exc in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")):
        try:
            raise exc
        except OSError:
            server.handle_error(None, ("127.0.0.1", 1))
    assert capsys.readouterr().err == ""
    try:
        raise ValueError("bad")
    except ValueError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert capsys.readouterr().err == "cnncalc serve: a request failed: ValueError: bad\n"
