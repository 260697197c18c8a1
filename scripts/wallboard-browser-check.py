#!/usr/bin/env python3
"""The wallboard in a real browser (headless Chromium driven by Playwright, with
Debian's chromium, no browser downloaded): the page shows a follower's figures, and
after a burst is appended to the followed log it shows the new ones without a reload,
equal to /report.json's for the same period.

    wallboard-browser-check.py URL LOG BURST [SCREENSHOT.png]

Appends the file BURST to LOG once the page shows its first figures. Prints what it
checked; exits 1 on any difference, 2 when Playwright or Chromium is missing.
"""
import json
import math
import os
import sys
import time
import urllib.request

try:
    from playwright.sync_api import sync_playwright
except ImportError:
    print("playwright is not installed (scripts/ensure-deps.sh installs it)", file=sys.stderr)
    sys.exit(2)

url, log, burst = sys.argv[1:4]
shot = sys.argv[4] if len(sys.argv) > 4 else None
chromium = next((p for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] if os.access(p, os.X_OK)), None)
if chromium is None:
    print("chromium is not installed (scripts/ensure-deps.sh installs it)", file=sys.stderr)
    sys.exit(2)


def get(path):
    with urllib.request.urlopen(url + path, timeout=10) as r:
        return json.load(r)


def pct(x, n):
    """As the page prints a rate: one decimal, halves rounded up."""
    return "%.1f%%" % (math.floor(1000 * x / n + 0.5) / 10)


def expected(report, period, min_cell):
    """(centre, service) -> the cells the page should show, from the report's rows."""
    out = {}
    for row in report["rows"]:
        if row["period"] != period:
            continue
        c = row["counters"] if "counters" in row else row
        answerable = c["handled"] + c["abandoned"] - c["short_abandoned"]
        abandon = pct(c["abandoned"] - c["short_abandoned"], answerable) if answerable >= max(min_cell, 1) else "–"
        out[(row["centre"], row.get("service") or "(all)")] = [str(c["contacts"]), str(c["handled"]), abandon]
    return out


def shown(page):
    """(centre, service) -> [contacts, handled, abandoned] as the page shows them."""
    cells = page.evaluate(
        """() => [...document.querySelectorAll("section")].flatMap(s =>
             [...s.querySelectorAll("tr")].slice(1).filter(tr => !tr.classList.contains("total")).map(tr =>
               [s.querySelector("h2").textContent, ...[...tr.children].map(td => td.textContent)]))"""
    )
    return {(r[0], r[1]): r[2:5] for r in cells}


problems = []
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url + "/")
    page.wait_for_selector("section h2", timeout=30000)
    # Set once; a reload would lose it.
    page.evaluate("window.loadedOnce = true")
    before = shown(page)
    board = get("/board.json")
    if before != expected(get("/report.json"), board["period"], board["min_cell"]):
        problems.append("before the burst, the page differs from /report.json")
    with open(burst, "rb") as src, open(log, "ab") as dst:
        dst.write(src.read())
    appended = time.time()
    after = before
    while time.time() - appended < 60:
        after = shown(page)
        if after != before:
            break
        time.sleep(0.1)
    latency = time.time() - appended
    if not before:
        problems.append("the page showed no figures before the burst")
    if after == before:
        problems.append("the page did not change within 60 s of the burst")
    if not page.evaluate("window.loadedOnce === true"):
        problems.append("the page was reloaded")
    # The page shows an emit; /report.json may already hold a later one: compare with the
    # same version of the figures.
    for _ in range(50):
        board = get("/board.json")
        report = get("/report.json")
        if board == get("/board.json"):
            break
    time.sleep(0.5)
    after = shown(page)
    want = expected(get("/report.json"), get("/board.json")["period"], board["min_cell"])
    if after != want:
        problems.append("after the burst the page shows %s, /report.json gives %s" % (after, want))
    status = page.text_content("#status") or ""
    if not status.startswith("Updated "):
        problems.append("the status line says %r" % status)
    if shot:
        page.screenshot(path=shot, full_page=True)
    browser.close()

print("cells compared: %d; page updated %.2f s after the append" % (len(after), latency))
for p in problems:
    print("problem: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
