"""What the keyboard must reach and Streamlit leaves out: formulas too wide for their column.

A formula (KaTeX) wider than its column scrolls sideways; a region that scrolls must take the keyboard's
focus, or someone without a mouse cannot read its end (WCAG 2.1.1). This tiny component (no visible
output) gives each such formula ``tabindex="0"`` and a name, and takes them back when it fits again
(after a resize, or on another page). Formulas that fit are left alone: no tab stop for nothing.
"""

import streamlit as st

_JS = """
export default function () {
  const root = document.querySelector('[data-testid="stMain"]') ?? document.body;
  let pending = false;
  const mark = () => {
    pending = false;
    for (const formula of root.querySelectorAll(".katex-display")) {
      const scrolls = formula.scrollWidth > formula.clientWidth;
      if (scrolls && !formula.hasAttribute("tabindex")) {
        formula.tabIndex = 0;
        formula.setAttribute("role", "region");
        formula.setAttribute("aria-label", "formula, scrolls sideways");
      } else if (!scrolls && formula.getAttribute("role") === "region") {
        ["tabindex", "role", "aria-label"].forEach(name => formula.removeAttribute(name));
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
_formulas = st.components.v2.component("attention_formula_focus", js=_JS)


def formulas_reachable():
    _formulas(key="formula_focus", height=0)
