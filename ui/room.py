"""The width of the page's main column on the screen, measured in the browser: the room charts have.

A tiny component (no visible output) watches the main column with a ResizeObserver and reports its
content width, rounded down to 16 px, when it differs from the width the page was laid out for: a few
pixels of resizing, or a new page at the same width, rerun nothing. The first run of a session, and a
client without JavaScript, assume the width at 1280×720 with the sidebar open (without it in presenter
mode), so the common case needs no second run.
"""

import streamlit as st

WIDTH_PX = 816  # the main column at 1280×720 with the sidebar open, rounded down to 16 px
PRESENTER_WIDTH_PX = 1200  # the same without the sidebar, in presenter mode
STEP_PX = 16
COLUMN_GAP_PX = 16  # st.columns' default ("small") gap
WIDTHS = "ui_room_widths"  # session: {presenting: width} as last measured

_JS = f"""
export default function (component) {{
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  if (!main) return;
  let last = component.data.width;  // what the server lays out for: report only a different width
  main.dataset.roomLaidOut = last;  // for tests: the page is final once these two agree
  const report = () => {{
    const style = getComputedStyle(main);
    const width = main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const rounded = Math.floor(width / {STEP_PX}) * {STEP_PX};
    main.dataset.roomMeasured = rounded;
    if (rounded > 0 && rounded !== last) {{
      last = rounded;
      component.setStateValue("width", rounded);
    }}
  }};
  const observer = new ResizeObserver(report);
  observer.observe(main);
  report();
  return () => observer.disconnect();
}}
"""
_sensor = st.components.v2.component("attention_room", js=_JS)


def _ignore():  # a new width reruns the page; nothing else to do
    pass


def main_width(presenting):  # -> the main column's content width in px, as last measured
    # The sensor's state lives as long as its page; the widths measured are kept for the session, one
    # with the sidebar and one without (presenter mode), so that the next page starts with the right one.
    widths = st.session_state.setdefault(WIDTHS, {})
    reported = st.session_state.get("room", {}).get("width")
    if reported:
        widths[presenting] = reported
    width = widths.get(presenting) or (PRESENTER_WIDTH_PX if presenting else WIDTH_PX)
    _sensor(key="room", data={"width": width}, height=0, on_width_change=_ignore)
    return width


def column_widths(total, weights, gap=COLUMN_GAP_PX):  # -> the width of each st.columns(weights) column
    share = (total - gap * (len(weights) - 1)) / sum(weights)
    return [share * weight for weight in weights]
