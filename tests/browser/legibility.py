"""What a chart's text looks like as drawn: every SVG text box on the screen, and where they collide.

``chart_text_problems(page)`` returns one line per problem on the page, empty when every chart is
legible: two text boxes that overlap (each ``<text>``'s ``getBBox()`` mapped through
``getScreenCTM()``, so rotated labels are measured as drawn, compared with a separating-axis test), a
number printed in a heatmap cell that is wider than the cell, and text that sticks out of its chart.
"""

from playwright.sync_api import Page

# Runs in the page: for every Plotly chart, the corners on the screen of each visible text element and
# the cell width of each heatmap trace with printed numbers.
_COLLECT = """() => [...document.querySelectorAll(".js-plotly-plot")].map((chart, index) => {
  const root = chart.querySelector(".main-svg");
  const frame = chart.getBoundingClientRect();
  const texts = [...chart.querySelectorAll("svg text")].filter(text => {
    if (!text.textContent.trim()) return false;
    for (let node = text; node && node !== chart; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.display === "none" || style.visibility === "hidden" || style.opacity === "0") return false;
    }
    return !text.closest(".hoverlayer");
  }).map(text => {
    const box = text.getBBox();
    const matrix = text.getScreenCTM();
    const corner = (x, y) => {
      const point = new DOMPoint(x, y).matrixTransform(matrix);
      return [point.x, point.y];
    };
    const cell = text.closest(".heatmaplayer, .textpoint") !== null || text.classList.contains("textpoint");
    return {
      text: text.textContent,
      kind: cell ? "number" : (text.closest(".xtick") ? "column label" : text.closest(".ytick") ? "row label"
        : text.closest(".gtitle, .g-gtitle") ? "title" : text.closest(".colorbar, .cbaxis") ? "colour bar"
        : "text"),
      corners: [corner(box.x, box.y), corner(box.x + box.width, box.y),
                corner(box.x + box.width, box.y + box.height), corner(box.x, box.y + box.height)],
      width: box.width * Math.hypot(matrix.a, matrix.b),
    };
  });
  const layout = chart._fullLayout || {};
  const data = chart._fullData || [];
  const cells = data.filter(trace => trace.type === "heatmap" && trace.texttemplate)
    .map(trace => (layout.xaxis && trace.z.length) ? layout.xaxis._length / trace.z[0].length : null);
  return {index, name: chart.closest("[class*='st-key-chart_']")?.className.match(/st-key-(chart_\\S+)/)?.[1],
          frame: [frame.left, frame.top, frame.right, frame.bottom], texts, cells};
})"""

TOLERANCE_PX = 0.5  # boxes that touch by less than this are not drawn over each other


def _axes(corners):  # the two edge normals of a rectangle (its sides are parallel in pairs)
    (x0, y0), (x1, y1), _, (x3, y3) = corners
    return [(y1 - y0, x0 - x1), (y3 - y0, x0 - x3)]


def _project(corners, axis):
    length = (axis[0] ** 2 + axis[1] ** 2) ** 0.5 or 1.0
    values = [(x * axis[0] + y * axis[1]) / length for x, y in corners]
    return min(values), max(values)


def boxes_overlap(a, b, tolerance=TOLERANCE_PX):
    """Whether two rectangles (four corners each, in order) overlap by more than ``tolerance`` px:
    the separating axis test, with the edge normals of both as candidate axes."""
    for axis in _axes(a) + _axes(b):
        low_a, high_a = _project(a, axis)
        low_b, high_b = _project(b, axis)
        if high_a - tolerance <= low_b or high_b - tolerance <= low_a:
            return False
    return True


def chart_text_problems(page: Page) -> list[str]:
    problems = []
    for chart in page.evaluate(_COLLECT):
        where = f"chart {chart['name'] or chart['index']}"
        texts = chart["texts"]
        for i, a in enumerate(texts):
            for b in texts[i + 1 :]:
                if boxes_overlap(a["corners"], b["corners"]):
                    problems.append(f"{where}: {a['kind']} {a['text']!r} overlaps {b['kind']} {b['text']!r}")
        left, top, right, bottom = chart["frame"]
        for text in texts:
            xs, ys = [x for x, _ in text["corners"]], [y for _, y in text["corners"]]
            if min(xs) < left - 1 or max(xs) > right + 1 or min(ys) < top - 1 or max(ys) > bottom + 1:
                problems.append(f"{where}: {text['kind']} {text['text']!r} sticks out of the chart")
        cell = min((width for width in chart["cells"] if width), default=None)
        for text in (t for t in texts if t["kind"] == "number" and cell):
            if text["width"] > cell:
                problems.append(
                    f"{where}: number {text['text']!r} is wider ({text['width']:.1f} px) than its cell"
                )
    return problems
