"""Issue 15's targets, measured: the HTML report of densenet201 generated in < 2 s and
interactive in the browser in < 2 s; a live re-analysis of resnet152 in < 100 ms server side.

    python benchmarks/web.py --python /tmp/bench-venv/bin/python   # CLI figures from that install

Prints a Markdown table of medians (docs/performance.md, section 7). The browser figures need
Selenium, chromium and chromedriver (as tests/test_browser.py); without them they are left out.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def median_of(fn, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def cli_rows(python: str, runs: int, out: Path) -> list[tuple[str, float, float]]:
    exe = str(Path(python).parent / "cnncalc")
    rows = []
    for args in (["table", "densenet201", "--format", "html"], ["table", "resnet152", "--format", "html"],
                 ["graph", "densenet201", "-o", str(out / "g.html")], ["table", "densenet201", "--format", "json"]):
        subprocess.run([exe, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # warm-up
        med, low = median_of(lambda a=args: subprocess.run([exe, *a], stdout=subprocess.DEVNULL,
                                                           stderr=subprocess.DEVNULL, check=True), runs)
        shown = " ".join(a if not a.endswith("g.html") else "densenet201.html" for a in args)
        rows.append((f"`cnncalc {shown}` (whole process)", med, low))
    return rows


def function_rows(runs: int) -> list[tuple[str, float, float]]:
    import cnncalc
    from cnncalc.report.view import View
    from cnncalc.report.web import report_page
    from cnncalc.serve import Session, analyze_text
    from cnncalc.sources import bundled_text

    analysis = cnncalc.analyze("densenet201")
    rows = [("`report_page(densenet201)` (the analysis given)", *median_of(lambda: report_page(analysis, View()), runs))]
    text = bundled_text("densenet201")
    edits = iter(range(10**6))
    rows.append(("`analyze` + `report_page` (densenet201, a fresh parse)",
                 *median_of(lambda: report_page(cnncalc.analyze(cnncalc.sources.Source(f"{text}\n#{next(edits)}\n",
                                                                                       "densenet201.yaml")), View()), runs)))
    session = Session(bundled_text("resnet152"), "resnet152.yaml")
    rows.append(("`analyze_text` (resnet152: parse, analyse, page parts)",
                 *median_of(lambda: analyze_text(session, f"{session.text}\n#{next(edits)}\n"), runs)))
    return rows


def http_rows(runs: int) -> list[tuple[str, float, float]]:
    from cnncalc.serve import Session, make_server
    from cnncalc.sources import bundled_text

    srv, _ = make_server(Session(bundled_text("resnet152"), "resnet152.yaml"), 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    edits = iter(range(10**6))

    def post() -> None:
        body = json.dumps({"text": f"{srv.session.text}\n#{next(edits)}\n"}).encode()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/analyze", body, {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json"})
        assert json.loads(conn.getresponse().read())["ok"]
        conn.close()

    post()
    row = ("POST /api/analyze, resnet152 (round trip: request, analysis, JSON, response)", *median_of(post, runs))
    srv.shutdown()
    srv.server_close()
    return [row]


def browser_rows(runs: int, out: Path) -> list[tuple[str, float, float]]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return []
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        return []
    import cnncalc
    from cnncalc.report.view import View
    from cnncalc.report.web import report_page

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    rows = []
    try:
        for name in ("densenet201", "resnet152"):
            page = out / f"{name}.html"
            page.write_text(report_page(cnncalc.analyze(name), View()), encoding="utf-8")
            ready, drawn = [], []
            for _ in range(runs):
                driver.get(page.as_uri())
                deadline = time.monotonic() + 60
                while driver.execute_script("return document.body.dataset.graph") != "drawn":
                    if time.monotonic() > deadline:
                        raise RuntimeError("the page never drew its graph")
                    time.sleep(0.01)
                ready.append(int(driver.execute_script("return document.body.dataset.ready")) / 1000)
                drawn.append(int(driver.execute_script("return document.body.dataset.graphAt")) / 1000)
            boxes = driver.execute_script("return document.querySelectorAll('#graph g.node').length")
            rows.append((f"{name} report in Chromium: navigation start to table interactive", statistics.median(ready),
                         min(ready)))
            rows.append((f"{name} report in Chromium: navigation start to graph drawn ({boxes} boxes)",
                         statistics.median(drawn), min(drawn)))
            if name == "densenet201":  # the depth control's "all": every layer laid out, in the worker
                unfold = []
                for _ in range(runs):
                    driver.get(page.as_uri())
                    while driver.execute_script("return document.body.dataset.graph") != "drawn":
                        time.sleep(0.01)
                    driver.execute_script("const s = document.getElementById('depth'); s.value = s.options.length - 1;"
                                          "s.dispatchEvent(new Event('change'));")
                    while driver.execute_script("return document.body.dataset.drawnNodes") != "408":
                        time.sleep(0.01)
                    unfold.append(int(driver.execute_script("return document.body.dataset.drawnMs")) / 1000)
                rows.append(("densenet201 report in Chromium: depth 'all', layout + drawing of 408 boxes",
                             statistics.median(unfold), min(unfold)))
    finally:
        driver.quit()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", help="the interpreter of a regular (non-editable) install, for the CLI figures")
    parser.add_argument("--runs", type=int, default=7)
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        rows = (cli_rows(ns.python, ns.runs, out) if ns.python else []) + function_rows(ns.runs) + http_rows(ns.runs) \
            + browser_rows(max(3, ns.runs // 2), out)
    print("| what | median | min |\n|---|---:|---:|")
    for what, med, low in rows:
        print(f"| {what} | {1000 * med:,.0f} ms | {1000 * low:,.0f} ms |")


if __name__ == "__main__":
    main()
