"""A page in headless Chromium: what it drew, what went wrong, what it fetched; mouse input."""

from __future__ import annotations

import base64
import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.devtools import BrowserError, DevTools, console_errors
from tests.support.waiting import wait_for

WIDTH, HEIGHT = 1280, 900
SCREENS = ((1366, 768), (1920, 1080))  # the two screens every page must read on
# Vertices of every drawn line (M and L commands of plotly's paths), markers and bars.
PROBE = """(() => ({
  title: document.title,
  charts: [...document.querySelectorAll('div.js-plotly-plot[id^="chart-"]')].map(d => ({
    id: d.id,
    width: d.getBoundingClientRect().width,
    points: [...d.querySelectorAll('.scatterlayer path.js-line')]
        .reduce((n, p) => n + ((p.getAttribute('d') || '').match(/[ML]/g) || []).length, 0)
      + d.querySelectorAll('.scatterlayer path.point, .barlayer g.point').length,
  })),
}))()"""
FIT = """(() => {
  const doc = document.documentElement;
  const view = doc.clientWidth;
  const clipRight = el => {
    let right = view;
    for (let a = el.parentElement; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') {
        right = Math.min(right, a.getBoundingClientRect().right);
      }
    }
    return right;
  };
  window.scrollTo(0, 0);
  const cells = [];
  document.querySelectorAll('table').forEach((t, i) => {
    const name = t.id || (t.closest('section') || {}).id || `table-${i}`;
    const head = t.tHead ? t.tHead.rows[0] : t.rows[0];
    if (!head) return;
    const right = clipRight(t);
    [...head.cells].forEach(c => {
      const r = c.getBoundingClientRect();
      cells.push({table: name, text: c.textContent.trim(), left: r.left, right: r.right,
                  visible_right: right});
    });
  });
  const charts = {};
  document.querySelectorAll('div.js-plotly-plot').forEach(d => {
    charts[d.id] = d.getBoundingClientRect().width;
  });
  return {viewport: view, document: doc.scrollWidth, cells, charts};
})()"""
CENTRE = """((selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  el.scrollIntoView({block: 'center'});
  const r = el.getBoundingClientRect();
  return {x: r.left + r.width / 2, y: r.top + r.height / 2, left: r.left, top: r.top,
          width: r.width, height: r.height};
})"""


@dataclass
class BrowserCheck:
    """What a real browser saw: errors, charts with how many points they draw, every request."""

    console_errors: list[str]
    chart_ids: list[str]
    title: str
    drawn_points: dict[str, int] = field(default_factory=dict)
    chart_widths: dict[str, float] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cell:
    """One header cell of a table, where it is drawn and where the page lets it be seen."""

    table: str
    text: str
    left: float
    right: float
    visible_right: float  # the viewport's, or a scrolling wrapper's, right edge

    @property
    def in_view(self) -> bool:
        return self.left >= -0.5 and self.right <= self.visible_right + 0.5


@dataclass(frozen=True)
class Fit:
    """How the page lies in the viewport: its widths and every table's header cells."""

    viewport: float
    document: float
    cells: list[Cell]
    charts: dict[str, float]  # each chart's drawn width

    @property
    def overflows(self) -> bool:
        return self.document > self.viewport + 0.5

    def out_of_view(self, table: str | None = None) -> list[Cell]:
        return [c for c in self.cells if (table is None or c.table == table) and not c.in_view]


@dataclass(frozen=True)
class Box:
    """An element's place in the viewport, in CSS pixels."""

    left: float
    top: float
    width: float
    height: float

    def at(self, fx: float, fy: float) -> tuple[float, float]:
        """The point at fractions (fx, fy) of the box's width and height."""
        return self.left + fx * self.width, self.top + fy * self.height


class Page:
    """One loaded tab: evaluate script, move and press the mouse, take screenshots."""

    def __init__(self, tools: DevTools, session: str, size: tuple[int, int]) -> None:
        self.tools, self.session, self.size = tools, session, size

    def evaluate(self, expression: str) -> Any:
        params = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        answer = self.tools.send("Runtime.evaluate", params, self.session)
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression[:80]}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 10.0) -> Any:
        """The expression's first truthy value, polled; BrowserError when none comes in time."""
        seen: list[Any] = []

        def truthy() -> bool:
            seen[:] = [self.evaluate(expression)]
            return bool(seen[0])

        try:
            wait_for(truthy, timeout_s, expression)
        except AssertionError as exc:
            raise BrowserError(f"waited {timeout_s} s for: {expression}") from exc
        return seen[0]

    def box(self, selector: str) -> Box:
        """Scrolls the element into the middle of the viewport and says where it is."""
        found = self.evaluate(f"{CENTRE}({selector!r})")
        if found is None:
            raise BrowserError(f"no element matches {selector}")
        return Box(found["left"], found["top"], found["width"], found["height"])

    def mouse(self, kind: str, x: float, y: float, buttons: int = 0) -> None:
        button = "left" if kind in ("mousePressed", "mouseReleased") else "none"
        params = {
            "type": kind,
            "x": x,
            "y": y,
            "button": button,
            "buttons": buttons,
            "clickCount": 1 if button == "left" else 0,
        }
        self.tools.send("Input.dispatchMouseEvent", params, self.session)

    def hover(self, x: float, y: float) -> None:
        self.mouse("mouseMoved", x - 3, y)
        self.mouse("mouseMoved", x, y)

    def click(self, x: float, y: float) -> None:
        self.mouse("mouseMoved", x, y)
        self.mouse("mousePressed", x, y, 1)
        self.mouse("mouseReleased", x, y)

    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 10) -> None:
        """Press, move in steps as a hand would, release."""
        self.mouse("mouseMoved", *start)
        self.mouse("mousePressed", *start, 1)
        for i in range(1, steps + 1):
            f = i / steps
            self.mouse(
                "mouseMoved",
                start[0] + f * (end[0] - start[0]),
                start[1] + f * (end[1] - start[1]),
                1,
            )
        self.mouse("mouseReleased", *end)

    def fit(self) -> Fit:
        """Widths of the viewport and the document, and where every table's columns lie."""
        found = self.evaluate(FIT)
        return Fit(
            viewport=float(found["viewport"]),
            document=float(found["document"]),
            cells=[Cell(**c) for c in found["cells"]],
            charts={k: float(v) for k, v in found["charts"].items()},
        )

    def resize(self, width: int, height: int) -> None:
        """The window resized, as a person drags it: the page reflows, plotly redraws."""
        self.size = (width, height)
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.tools.send("Emulation.setDeviceMetricsOverride", metrics, self.session)

    def screenshot(self, path: Path) -> Path:
        """The whole page as a PNG, however long it is, as wide as the window."""
        size = self.tools.send("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
        width = max(self.size[0], size["width"])  # a page wider than its window shows it
        clip = {"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1}
        shot = self.tools.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
            self.session,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def requests(self) -> list[str]:
        """Every URL the page asked for so far, the page itself included."""
        self.tools.drain()
        return [
            e["params"]["request"]["url"]
            for e in self.tools.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def console_errors(self) -> list[str]:
        self.tools.drain()
        return console_errors(self.tools.events)


def open_page(
    html_path: Path, size: tuple[int, int] = (WIDTH, HEIGHT)
) -> contextlib.AbstractContextManager[Page]:
    """A fresh Chromium with the page loaded from its file:// URL; closed afterwards."""
    return open_url(html_path.resolve().as_uri(), size)


@contextlib.contextmanager
def open_url(url: str, size: tuple[int, int] = (WIDTH, HEIGHT)) -> Iterator[Page]:
    """A fresh Chromium, its window `size` CSS pixels, with the page at `url` loaded; closed
    afterwards."""
    with tempfile.TemporaryDirectory(prefix="ndx-chromium-") as tmp:
        tools = DevTools(Path(tmp))
        try:
            target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            attached = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})
            session = attached["sessionId"]
            for domain in ("Runtime", "Log", "Page", "Network"):
                tools.send(f"{domain}.enable", session=session)
            page = Page(tools, session, size)
            page.resize(*size)
            tools.send("Page.navigate", {"url": url}, session)
            tools.wait_event("Page.loadEventFired")
            tools.drain()
            yield page
        except BrowserError as error:
            log = (Path(tmp) / "chromium.log").read_text(errors="replace")[-2000:]
            raise BrowserError(f"{error}; Chromium's log ends with:\n{log}") from error
        finally:
            tools.close()


def open_report_in_browser(
    html_path: Path, screenshot: Path, size: tuple[int, int] = (WIDTH, HEIGHT)
) -> BrowserCheck:
    """Loads the page, collects what went wrong, probes the charts and saves a full-page PNG."""
    with open_page(html_path, size) as page:
        probe = page.evaluate(PROBE)
        page.screenshot(screenshot)
        return BrowserCheck(
            console_errors=page.console_errors(),
            chart_ids=[c["id"] for c in probe["charts"]],
            title=probe["title"],
            drawn_points={c["id"]: int(c["points"]) for c in probe["charts"]},
            chart_widths={c["id"]: float(c["width"]) for c in probe["charts"]},
            requests=page.requests(),
        )
