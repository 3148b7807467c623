"""The pages as a reader sees them, in headless Chromium driven by Selenium with the system's
chromedriver: the report (`table --format html`), the graph page (`graph -o x.html`) and the live
editor (`cnncalc serve`). Each test saves a screenshot ($CNNCALC_SCREENSHOTS, else a temporary
folder) and the timings it saw (timings.json there): recorded, never asserted.

Skipped, saying why, only where Chromium, chromedriver or Selenium is missing (.ci/run installs
them where it can); where they are present, a browser that fails to start is a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

import cnncalc
from cnncalc.report import web
from cnncalc.report.view import View, display_rows
from tests.conftest import cli_error, run_cli

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
                 if p and os.path.exists(p)), None)
CHROMEDRIVER = next((p for p in (shutil.which("chromedriver"), "/usr/bin/chromedriver") if p and os.path.exists(p)), None)
try:
    import selenium  # noqa: F401
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER and HAVE_SELENIUM),
    reason="the browser tests need chromium, chromedriver (apt-get install chromium chromium-driver) and "
           "selenium (pip install 'cnncalc[browser]'); missing: " +
           ", ".join(n for n, ok in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER),
                                     ("selenium", HAVE_SELENIUM)) if not ok))

WIDTH, HEIGHT = 1440, 900  # a laptop screen


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars=false"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    where = os.environ.get("CNNCALC_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def record(shots: Path, key: str, value) -> None:
    """Keep a timing the test saw in timings.json beside the screenshots."""
    file = shots / "timings.json"
    data = json.loads(file.read_text()) if file.exists() else {}
    data[key] = value
    file.write_text(json.dumps(data, indent=2) + "\n")


def wait_for(browser, script: str, timeout: float = 30.0):
    """Poll a JavaScript expression until it is truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = browser.execute_script(f"return {script}")
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {script}")
        time.sleep(0.02)


def console_errors(browser) -> list[str]:
    """The SEVERE entries of the browser's console log since the last call."""
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def open_page(browser, url: str) -> int:
    """Load a page and wait until its graph is drawn; the milliseconds from navigation start until
    the page's script said it is ready (the table works; the graph is laid out in a worker)."""
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(url)
    ready = int(wait_for(browser, "document.body.dataset.ready"))
    wait_for(browser, "document.body.dataset.graph === 'drawn' || !document.getElementById('cnncalc-data')"
                      ".textContent.includes('\"payload\"')")
    return ready


def write_page(tmp_path: Path, name: str, *args: str) -> Path:
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    path = tmp_path / name
    path.write_text(result.stdout, encoding="utf-8")
    return path


def drawn_nodes(browser) -> int:
    return browser.execute_script("return document.querySelectorAll('#graph svg g.node').length")


def layer_rows(browser) -> list[int]:
    """The table's layer rows, top to bottom, as their indices in display_rows (its order)."""
    return browser.execute_script("return [...document.querySelectorAll('#table tbody tr[data-row]')]"
                                  ".map(tr => +tr.dataset.row)")


def test_report_loads_without_errors_and_draws_one_node_per_row(browser, shots, tmp_path):
    page = write_page(tmp_path, "alexnet.html", "table", "alexnet", "--format", "html")
    ready = open_page(browser, page.as_uri())
    assert console_errors(browser) == []
    analysis = cnncalc.analyze("alexnet")
    payload = web.payload(analysis, View())
    shown = payload["graphs"][payload["graph"]]["drawing"]
    # a chain: one box per table row (12, as on the EECS 498 slide) and the input
    assert drawn_nodes(browser) == len(shown["nodes"]) == len(display_rows(analysis, View())) + 1 == 13
    assert len(layer_rows(browser)) == 12
    assert browser.execute_script("return document.querySelectorAll('#graph svg g.cluster').length") == 0
    # the caption with the convention, and the summary by layer type
    assert "multiply-adds" in browser.find_element("id", "caption").text
    cats = browser.execute_script("return [...document.querySelectorAll('.sum-row[data-category]')].map(r => r.dataset.category)")
    assert cats == ["conv", "linear", "pooling", "other"]
    browser.save_screenshot(str(shots / "report-alexnet.png"))
    record(shots, "report alexnet ready ms", ready)


def test_clicking_a_node_selects_its_row_and_a_row_its_node(browser, shots, tmp_path):
    from selenium.webdriver.common.by import By

    page = write_page(tmp_path, "resnet18.html", "table", "resnet18", "--format", "html")
    open_page(browser, page.as_uri())
    rows = display_rows(cnncalc.analyze("resnet18"), View())
    # a row: its node is selected and brought to the middle of the graph
    k = [r.name for r in rows].index("conv3_x.0.conv2")
    browser.find_element(By.CSS_SELECTOR, f'#table tr[data-row="{k}"] td').click()
    selected = browser.execute_script("return [...document.querySelectorAll('#graph g.node.selected')].map(g => g.dataset.id)")
    assert selected == ["conv3_x.0.conv2"]
    assert browser.execute_script("return [...document.querySelectorAll('#table tr.selected')].map(tr => +tr.dataset.row)") == [k]
    # a node (the one drawn below it, in view now): its row is selected
    node = browser.find_element(By.CSS_SELECTOR, '#graph g.node[data-id="conv3_x.0.shortcut.conv1"] rect')
    node.click()
    j = [r.name for r in rows].index("conv3_x.0.shortcut.conv1")
    assert browser.execute_script("return [...document.querySelectorAll('#table tr.selected')].map(tr => +tr.dataset.row)") == [j]
    assert browser.execute_script("return [...document.querySelectorAll('#graph g.node.selected')].map(g => g.dataset.id)") \
        == ["conv3_x.0.shortcut.conv1"]
    row_text = browser.find_element(By.CSS_SELECTOR, "#table tr.selected td").text
    assert row_text.startswith("conv3_x.0.shortcut.conv1")
    assert console_errors(browser) == []
    browser.save_screenshot(str(shots / "report-resnet18-selected.png"))


def test_a_branching_network_draws_its_modules_as_clusters(browser, shots, tmp_path):
    from selenium.webdriver.common.by import By

    page = write_page(tmp_path, "googlenet.html", "table", "googlenet", "--format", "html")
    open_page(browser, page.as_uri())
    payload = web.payload(cnncalc.analyze("googlenet"), View())
    shown = payload["graphs"][payload["graph"]]["drawing"]
    assert drawn_nodes(browser) == len(shown["nodes"]) == 85
    kinds = browser.execute_script("return [...document.querySelectorAll('#graph svg g.cluster')].map(g => g.getAttribute('class'))")
    assert kinds == [f"cluster {c['kind']}" for c in shown["clusters"]] and "cluster parallel" in kinds
    edges = browser.execute_script("return document.querySelectorAll('#graph svg path.edge').length")
    assert edges == len(shown["edges"])
    k = [r["name"] for r in payload["rows"]].index("inception3a.b3x3.conv")
    browser.find_element(By.CSS_SELECTOR, f'#table tr[data-row="{k}"] td').click()
    assert browser.execute_script("return [...document.querySelectorAll('#graph g.node.selected')].map(g => g.dataset.id)") \
        == ["inception3a.b3x3.conv"]
    assert console_errors(browser) == []
    browser.save_screenshot(str(shots / "report-googlenet.png"))


def test_printing_gives_the_whole_graph_then_the_table(browser, tmp_path):
    page = write_page(tmp_path, "resnet18.html", "table", "resnet18", "--format", "html")
    open_page(browser, page.as_uri())
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        browser.execute_script("window.dispatchEvent(new Event('beforeprint'))")
        slices = browser.execute_script("return [...document.querySelectorAll('#print-graph svg')]"
                                        ".map(s => s.getAttribute('viewBox').split(' ').map(Number))")
        height = browser.execute_script("return window.cnncalc.state.size.h")
        # page-tall bands of the drawing, top to bottom, covering all of it
        assert len(slices) >= 2 and slices[0][1] == 0
        assert all(abs(a[1] + a[3] - b[1]) < 0.2 for a, b in itertools.pairwise(slices))
        assert abs(slices[-1][1] + slices[-1][3] - height) < 0.2
        nodes = browser.execute_script("return document.querySelectorAll('#print-graph svg')[0].querySelectorAll('g.node').length")
        assert nodes == 33  # each band is the whole drawing, seen through its window
        graph_bottom, table_top = browser.execute_script(
            "return [document.getElementById('print-graph').getBoundingClientRect().bottom,"
            " document.getElementById('table-pane').getBoundingClientRect().top]")
        assert table_top >= graph_bottom  # the table after the graph, not under it
        assert browser.execute_script("return getComputedStyle(document.querySelector('.tools')).display") == "none"
        browser.execute_script("window.dispatchEvent(new Event('afterprint'))")
        assert browser.execute_script("return document.getElementById('print-graph')") is None
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert console_errors(browser) == []


def test_sorting_a_column_orders_it_by_exact_value(browser, tmp_path):
    from selenium.webdriver.common.by import By

    # at batch 10**12 AlexNet's multiply-adds pass 2**53: the page must still sort them exactly
    batch = 10**12
    page = write_page(tmp_path, "alexnet-big.html", "table", "alexnet", "--format", "html", "--batch", str(batch))
    open_page(browser, page.as_uri())
    analysis = cnncalc.analyze("alexnet", batch=batch)
    rows = display_rows(analysis, View())
    counts = analysis.counted("lecture")
    flop = [r.flop(counts) for r in rows]
    assert max(flop) > 2**53
    header = browser.find_elements(By.CSS_SELECTOR, "#table thead th")[-1]
    header.click()  # numbers: largest first; ties in table order
    assert layer_rows(browser) == sorted(range(len(rows)), key=lambda i: -flop[i])
    assert header.get_attribute("aria-sort") == "descending"
    # the exact value in each cell's tooltip
    titles = browser.execute_script("return [...document.querySelectorAll('#table tbody tr[data-row]')]"
                                    ".map(tr => tr.cells[tr.cells.length - 1].title)")
    assert titles == [f"{flop[i]:,} flop" for i in layer_rows(browser)]
    header.click()
    assert layer_rows(browser) == sorted(range(len(rows)), key=lambda i: flop[i])
    header.click()  # a third time: the table's own order back
    assert layer_rows(browser) == list(range(len(rows)))
    params_header = browser.find_elements(By.CSS_SELECTOR, "#table thead th")[-2]
    params_header.click()
    params = [r.params(View()) for r in rows]
    assert layer_rows(browser) == sorted(range(len(rows)), key=lambda i: -params[i])
    assert console_errors(browser) == []


def test_sorting_hides_subtotals_and_keeps_the_total_last(browser, tmp_path):
    from selenium.webdriver.common.by import By

    page = write_page(tmp_path, "resnet50.html", "table", "resnet50", "--format", "html")
    open_page(browser, page.as_uri())
    visible = "[...document.querySelectorAll('#table tbody tr')].filter(tr => tr.offsetParent !== null)"
    assert browser.execute_script(f"return {visible}.filter(tr => tr.classList.contains('subtotal')).length") == 4
    browser.find_elements(By.CSS_SELECTOR, "#table thead th")[-2].click()
    assert browser.execute_script(f"return {visible}.filter(tr => tr.classList.contains('subtotal')).length") == 0
    assert browser.execute_script(f"const r = {visible}; return r[r.length - 1].classList.contains('total')")
    # Layer sorts as text, A to Z, the numbers in names by value (layer9 before layer10)
    browser.find_elements(By.CSS_SELECTOR, "#table thead th")[0].click()
    names = browser.execute_script("return [...document.querySelectorAll('#table tbody tr[data-row]')]"
                                   ".map(tr => tr.cells[0].textContent)")
    assert names[0].startswith("conv1") and names[-1].startswith("pool5")
    assert names.index("conv2_x.2.conv1 +bn+relu") < names.index("conv3_x.0.conv1 +bn+relu")
    assert console_errors(browser) == []


def test_graph_page_draws_the_graph_first(browser, shots, tmp_path):
    analysis = cnncalc.analyze("resnet18")
    path = tmp_path / "resnet18-graph.html"
    path.write_text(web.graph_page(analysis, View(units="auto"), "params"), encoding="utf-8")
    open_page(browser, path.as_uri())
    assert console_errors(browser) == []
    payload = web.payload(analysis, View(units="auto"), "params")
    shown = payload["graphs"][payload["graph"]]["drawing"]
    assert drawn_nodes(browser) == len(shown["nodes"]) == 33
    clusters = browser.execute_script("return [...document.querySelectorAll('#graph svg g.cluster')].map(g => g.dataset.cluster)")
    assert clusters == [c["id"] for c in shown["clusters"]]
    assert browser.execute_script("return document.body.className") == "mode-graph"
    assert browser.find_element("id", "measure").get_attribute("value") == "params"
    browser.save_screenshot(str(shots / "graph-resnet18.png"))


def test_densenet201_report_folds_its_graph_and_unfolds_on_request(browser, shots, tmp_path):
    from selenium.webdriver.support.ui import Select

    started = time.perf_counter()
    page = write_page(tmp_path, "densenet201.html", "table", "densenet201", "--format", "html")
    generated = time.perf_counter() - started
    ready = open_page(browser, page.as_uri())
    assert console_errors(browser) == []
    analysis = cnncalc.analyze("densenet201")
    payload = web.payload(analysis, View())
    shown = payload["graphs"][payload["graph"]]
    assert shown["depth"] == 2 and drawn_nodes(browser) == len(shown["drawing"]["nodes"]) == 114
    assert len(layer_rows(browser)) == len(display_rows(analysis, View())) == 407  # the table keeps every row
    # a folded node holds several rows: selecting one of its rows selects it
    browser.execute_script("window.cnncalc.selectRow(3)")
    assert browser.execute_script("return [...document.querySelectorAll('#graph g.node.selected')].map(g => g.dataset.id)") \
        == ["denseblock1.0"]
    browser.save_screenshot(str(shots / "report-densenet201.png"))
    # every layer, on request
    first_drawn = int(browser.execute_script("return document.body.dataset.drawnMs"))
    graph_at = int(browser.execute_script("return document.body.dataset.graphAt"))
    Select(browser.find_element("id", "depth")).select_by_index(len(payload["graphs"]) - 1)
    wait_for(browser, "document.body.dataset.drawnNodes === '408'", timeout=60)
    assert drawn_nodes(browser) == 408
    record(shots, "densenet201 report: generated s (in-process CLI)", round(generated, 3))
    record(shots, "densenet201 report: ready ms (navigation start to interactive)", ready)
    record(shots, "densenet201 report: layout runs in", browser.execute_script("return window.cnncalc.layoutThread()"))
    record(shots, "densenet201 report: first graph (114 boxes) layout+draw ms", first_drawn)
    record(shots, "densenet201 report: graph drawn ms (navigation start)", graph_at)
    record(shots, "densenet201 report: every layer (408 boxes) layout+draw ms",
           int(browser.execute_script("return document.body.dataset.drawnMs")))
    assert console_errors(browser) == []


# ---- the live editor -----------------------------------------------------------------------

@pytest.fixture
def server():
    from cnncalc.serve import DEFAULT_FILE, DEFAULT_SPEC, Session, make_server

    srv, _ = make_server(Session(DEFAULT_SPEC, DEFAULT_FILE), 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_editor_shows_a_typo_at_its_line_and_the_table_comes_back(browser, server, shots, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from cnncalc.serve import DEFAULT_FILE, DEFAULT_SPEC

    ready = open_page(browser, server.url)
    assert console_errors(browser) == []
    fresh = display_rows(cnncalc.analyze(cnncalc.sources.Source(DEFAULT_SPEC, DEFAULT_FILE)), View())
    assert len(layer_rows(browser)) == len(fresh)
    assert drawn_nodes(browser) == len(fresh) + 1
    browser.save_screenshot(str(shots / "editor-start.png"))

    editor = browser.find_element(By.ID, "yaml")
    lines = DEFAULT_SPEC.split("\n")
    line = next(i for i, s in enumerate(lines) if "conv2" in s) + 1  # 1-based, as messages count
    col = lines[line - 1].index("kernel")
    offset = sum(len(s) + 1 for s in lines[: line - 1]) + col + len("kern")
    # type the typo: kernel -> kernal (caret after "kern", delete the "e", type "a")
    editor.click()
    browser.execute_script("arguments[0].setSelectionRange(arguments[1], arguments[1])", editor, offset)
    editor.send_keys(Keys.DELETE, "a")
    typo = DEFAULT_SPEC.replace("conv2, out: 64, kernel", "conv2, out: 64, kernal")
    assert browser.execute_script("return arguments[0].value", editor) == typo
    message = wait_for(browser, "document.getElementById('messages').textContent")
    assert message == cli_error(tmp_path, DEFAULT_FILE, typo)  # the CLI's text, word for word
    assert message.startswith(f"{DEFAULT_FILE}:{line}:")
    assert browser.execute_script("return [...document.querySelectorAll('#gutter .err')].map(s => +s.dataset.line)") == [line]
    # at the line: the CLI's message and hint on one line, without the file:line:col it is shown at
    first, *_, hint = message.split("\n")
    at_line = browser.find_element(By.CSS_SELECTOR, f'.line-msg[data-line="{line}"]').get_attribute("textContent")
    assert at_line == first.split(": ", 1)[1] + " · " + hint.strip()
    assert browser.execute_script("return document.querySelectorAll('.col-mark').length") == 1
    assert "stale" in browser.find_element(By.ID, "table-pane").get_attribute("class")
    browser.save_screenshot(str(shots / "editor-error.png"))

    # fix it: the message goes, the table and the graph are the fixed spec's
    editor.send_keys(Keys.BACKSPACE, "e")
    wait_for(browser, "document.getElementById('messages').textContent === '' && "
                      "!document.getElementById('table-pane').classList.contains('stale')")
    assert browser.execute_script("return document.querySelectorAll('#gutter .err').length") == 0
    assert len(layer_rows(browser)) == len(fresh) and drawn_nodes(browser) == len(fresh) + 1
    # a new layer typed at the end appears as a row and a node
    editor.send_keys(Keys.CONTROL, Keys.END)
    editor.send_keys("  - linear: {name: head, out: 5}")
    wait_for(browser, f"document.querySelectorAll('#table tbody tr[data-row]').length === {len(fresh) + 1}")
    assert browser.execute_script("return document.querySelector('#graph g.node[data-id=\"head\"]') !== null")
    assert console_errors(browser) == []
    browser.save_screenshot(str(shots / "editor-fixed.png"))
    record(shots, "editor ready ms", ready)


def test_editor_shows_bad_indentation_at_its_line(browser, server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from cnncalc.serve import DEFAULT_FILE, DEFAULT_SPEC

    open_page(browser, server.url)
    editor = browser.find_element(By.ID, "yaml")
    editor.click()
    editor.send_keys(Keys.CONTROL, Keys.END)
    editor.send_keys("\n   - relu")  # three spaces: not the list's indentation
    text = browser.execute_script("return arguments[0].value", editor)
    message = wait_for(browser, "document.getElementById('messages').textContent")
    assert message == cli_error(tmp_path, DEFAULT_FILE, text)
    line = int(message.split(":")[1])
    assert browser.execute_script("return [...document.querySelectorAll('#gutter .err')].map(s => +s.dataset.line)") == [line]
    assert DEFAULT_SPEC.count("\n") <= line <= text.count("\n") + 1
    assert console_errors(browser) == []


# ---- the notebook's table (issue 32) ------------------------------------------------------------

def test_the_notebook_table_reads_left_to_right_with_its_title_apart(browser, shots, tmp_path):
    """Analysis._repr_html_ as a notebook shows it: an output cell exported by nbconvert, whose
    stylesheet is Jupyter's (it right-aligns every table cell)."""
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    import cnncalc

    analysis = cnncalc.analyze("googlenet")
    cell = nbformat.v4.new_code_cell("cnncalc.analyze('googlenet')", execution_count=1, outputs=[
        nbformat.v4.new_output("execute_result", {"text/html": analysis._repr_html_(), "text/plain": "<Analysis>"},
                               execution_count=1)])
    notebook = nbformat.v4.new_notebook(cells=[cell])
    page, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    path = tmp_path / "notebook.html"
    path.write_text(page, encoding="utf-8")
    browser.get(path.as_uri())
    wait_for(browser, "document.querySelector('table caption')")
    align = browser.execute_script("""return [...document.querySelectorAll('table tbody tr:first-child td')]
        .map(td => getComputedStyle(td).textAlign)""")
    assert align[0] == "left" and align[-1] == "right"  # the name left, the numbers right
    title = browser.execute_script("return document.querySelector('table caption strong').textContent")
    assert title == "googlenet: input 3x224x224"
    caption = browser.execute_script("return document.querySelector('table caption small').textContent")
    assert caption.startswith("flop = multiply-adds")
    browser.save_screenshot(str(shots / "notebook.png"))


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1400, 900)])
def test_no_table_column_is_cut_at_common_screen_sizes(browser, server, shots, tmp_path, width, height):
    """The lecture table fits its pane, every column visible, in the report (googlenet: the widest
    names and a multi-input cell) and in the live editor, at a laptop's sizes; after "fit", the
    report's graph is drawn at a readable size (at least 0.7 of its boxes' size: it pans)."""
    browser.set_window_size(width, height)
    try:
        page = write_page(tmp_path, "googlenet.html", "table", "googlenet", "--format", "html")
        for url, name in ((page.as_uri(), "report"), (server.url, "serve")):
            open_page(browser, url)
            sizes = browser.execute_script("""var t = document.querySelector('#table table'),
                p = document.getElementById('table-pane');
                return [t.getBoundingClientRect().right, p.getBoundingClientRect().right - (p.offsetWidth - p.clientWidth)]""")
            assert sizes[0] <= sizes[1] + 0.5, (name, width, sizes)
            browser.save_screenshot(str(shots / f"{name}_{width}x{height}.png"))
        open_page(browser, page.as_uri())
        browser.find_element("id", "fit").click()
        scale = browser.execute_script("return document.querySelector('#graph g.viewport').getAttribute('transform')")
        assert float(scale.split("scale(")[1].rstrip(")")) >= 0.7
    finally:
        browser.set_window_size(WIDTH, HEIGHT)
