"""What the keyboard must reach and Streamlit leaves out: formulas and tables too wide for their column.

A formula (KaTeX) or a table wider than its column scrolls; a region that scrolls must take the keyboard's
focus, or someone without a mouse cannot read its end (WCAG 2.1.1). This tiny component (no visible
output) gives each such region ``tabindex="0"`` and a name, and takes them back when it fits again
(after a resize, or on another page). Regions that fit are left alone: no tab stop for nothing.
"""

import streamlit as st

_JS = """
const SCROLLERS = '.katex-display, [data-testid="stTable"], [data-testid="stTable"] > div';

export default function () {
  const root = document.querySelector('[data-testid="stMain"]') ?? document.body;
  let pending = false;
  const mark = () => {
    pending = false;
    for (const region of root.querySelectorAll(SCROLLERS)) {
      const style = getComputedStyle(region);
      const scrolls = (region.scrollWidth > region.clientWidth && /auto|scroll/.test(style.overflowX))
        || (region.scrollHeight > region.clientHeight && /auto|scroll/.test(style.overflowY));
      if (scrolls && !region.hasAttribute("tabindex")) {
        region.tabIndex = 0;
        region.setAttribute("role", "region");
        const table = region.querySelector("table");
        region.setAttribute("aria-label", table ? `table: ${table.getAttribute("aria-label") ?? ""}` : "formula");
      } else if (!scrolls && region.getAttribute("role") === "region") {
        ["tabindex", "role", "aria-label"].forEach(name => region.removeAttribute(name));
      }
    }
  };
  const later = () => {  // at most once a frame: charts change the page often while they draw
    if (!pending) { pending = true; requestAnimationFrame(mark); }
  };
  const observer = new MutationObserver(later);
  observer.observe(root, { childList: true, subtree: true });
  window.addEventListener("resize", later);
  mark();
  return () => { observer.disconnect(); window.removeEventListener("resize", later); };
}
"""
_regions = st.components.v2.component("attention_scrolling_regions", js=_JS)


def scrolling_regions_reachable():
    _regions(key="scrolling_regions", height=0)
