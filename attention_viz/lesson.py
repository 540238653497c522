"""A lesson as one HTML file: the overview and the seven stages of one sentence, for a browser alone.

    python -m attention_viz.lesson "the cat sat on the mat" -o lesson.html
    python -m attention_viz.lesson "the cat sat" --model MiniLM --layer 2 --head 5 -o minilm.html
    python -m attention_viz.lesson "the cat sat on the mat" --model trained --task first_token -o trained.html

The file needs no server and no network: Plotly's JavaScript is inline (from the installed plotly
package), the formulas are MathML, and the trace's exact numbers are embedded as JSON (and can be
downloaded from the page). It steps through the stages with ← and →, presents them full-screen, and
prints as a handout, one stage per page.
"""

import argparse
import dataclasses
import html
import json
import sys
from pathlib import Path

import plotly.io as pio
import plotly.offline
from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt

from attention_core import AttentionInputError
from attention_core.families import DEFAULT, FAMILIES, family_of
from attention_core.stages import stage_number
from attention_viz import charts, export, frames, numbers, panels, quiz, stages, text

ROOM_PX = 720  # every chart's width: it fits a laptop's screen and an A4 page
THUMBNAIL_PX = 230  # the overview's seven small panels, three to a row
CHART_CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["pan2d", "zoomIn2d", "zoomOut2d", "autoScale2d"],
}
_MARKDOWN = MarkdownIt("commonmark", {"html": False})  # our own texts; any HTML in them stays text


@dataclasses.dataclass(frozen=True)
class View:
    """What the lesson shows of a trace: the head, and the cell "Show me the numbers" explains."""

    head: int = 0  # 0-based
    query: int = 0  # row index of the chosen query token
    key: int = 0  # column index of the chosen key token
    sentence: str | None = None  # as typed, for the heading (the tokens otherwise)


def _markdown(source):  # our markdown -> HTML
    return _MARKDOWN.renderInline(source)


def _formula(latex):  # LaTeX -> MathML, which browsers draw without any font or script to fetch
    return f'<div class="formula">{latex_to_mathml(latex, display="block")}</div>'


def _script_json(value):  # a JSON document safe inside <script>: "</" cannot end the element
    return value.replace("</", "<\\/")


def _table(frame, caption):  # DataFrame -> an HTML table; labels (user text) are escaped
    body = frame.to_html(float_format=lambda v: f"{v:.4f}", border=0, classes="numbers", escape=True)
    return body.replace("<table", f'<table aria-label="{html.escape(caption)}"', 1)


class _Charts:
    """Collects the figures of the page: each is a <div> in the text and a JSON entry drawn by the script."""

    def __init__(self):
        self.specs = {}

    def json(self):  # -> {"chart-1": figure, ...} as JSON text
        return "{" + ",".join(f"{json.dumps(name)}:{spec}" for name, spec in self.specs.items()) + "}"

    def add(self, panel, head, room, **options):  # -> the chart's <div>
        name = f"chart-{len(self.specs) + 1}"
        figure = panels.panel_figure(panel, room, **options)
        self.specs[name] = pio.to_json(figure, validate=False)  # arrays as exact base64 float64
        alt = charts.describe(panel.values, panel.rows, panel.columns, panel.title, **panel.options())
        source = " ".join(panel.source)
        return (
            f'<div class="chart" id="{name}" role="img" aria-label="{html.escape(alt)}" '
            f'data-source="{source}" data-head="{head}"></div>'
        )


def describe_options(family, options):  # -> "d_model 8, Seed 0, …, Causal mask off": what it was run with
    def shown(value):
        return (
            ("on" if value else "off")
            if isinstance(value, bool)
            else f"{value:g}"
            if isinstance(value, float)
            else str(value)
        )

    def name(label):  # in the middle of a sentence: "causal mask", but "d_model" as it is
        return label[0].lower() + label[1:]

    values = dict(options)
    return ", ".join(f"{name(o.label)} {shown(values[o.name])}" for o in family.options if o.name in values)


def _header(trace, view):
    family, source = family_of(trace), trace.source
    model = ", ".join(
        part
        for part in (
            source.caption,
            f"head {view.head + 1} of {trace.config.n_heads}",
            describe_options(family, source.options),
        )
        if part
    )
    return (
        "<header>"
        "<h1>Self-attention, step by step</h1>"
        f'<p class="sentence">{html.escape(view.sentence or " ".join(trace.tokens))}</p>'
        f"<p>{len(trace.tokens)} {html.escape(family.units)} · {html.escape(model)}</p>"
        '<p class="controls"><button type="button" id="present">Present (full screen)</button> '
        '<button type="button" id="download-json">Download the numbers (JSON)</button> '
        "<span>← and → step through the stages; Esc leaves the full screen.</span></p>"
        "</header>"
    )


def _overview(trace, view, drawn):
    cells = []
    overview = stages.overview_panels(trace, family_of(trace).stages, view.head)
    for number, (slug, panel) in enumerate(overview.items(), 1):
        shown = panels.thumbnail(panel)
        chart = drawn.add(
            shown, view.head, THUMBNAIL_PX, numbers=False, colorbar=False, title=None, max_plot=150
        )
        if shown.values.shape != panel.values.shape:
            (r, c), (rows, columns) = shown.values.shape, panel.values.shape
            chart += f"<p><small>The first {r} × {c} of {rows} × {columns}.</small></p>"
        cells.append(
            f'<div class="thumbnail"><h3><a href="#stage-{number}">{html.escape(panel.title)}</a></h3>'
            f"<p>{html.escape(stages.VIEWS[slug].stage.summary)}</p>{chart}</div>"
        )
    return (
        '<section class="stage" id="stage-0"><h2>Overview</h2>'
        "<p>One matrix per stage, for the sentence above. Each stage follows with its explanation, its "
        f'numbers and a question to answer before you look.</p><div class="thumbnails">{"".join(cells)}</div>'
        "</section>"
    )


def _question(trace, view, slug):  # the app's first predict-first question for this stage
    question = stages.VIEWS[slug].question(trace, view.head, 0)
    prompt = f"<p><strong>Predict first.</strong> {html.escape(question.prompt)}</p>"
    if question.options:
        answers = "".join(
            f'<button type="button" class="option" data-verdict="{html.escape(quiz.grade(question, option)[1])}">'
            f"{html.escape(option)}</button>"
            for option in question.options
        )
    else:
        answers = (
            f'<label>Your guess <input type="number" step="0.1" class="guess" data-answer="{question.answer!r}" '
            f'data-tolerance="{question.tolerance!r}"></label>'
        )
    return (
        f'<div class="quiz">{prompt}<div class="options">{answers}</div>'
        '<button type="button" class="reveal">Reveal</button>'
        f'<p class="answer" hidden><span class="verdict"></span> {html.escape(question.reveal)}</p></div>'
    )


def _numbers(trace, view, cell):  # "Show me the numbers" for the chosen cell (numbers.CELLS)
    work = numbers.worked(
        trace, view.head, cell, view.query, view.key, lambda t: f"<strong>{html.escape(t)}</strong>"
    )
    formula = _formula(work.formula) if work.formula else ""
    return (
        '<details class="numbers" open><summary>Show me the numbers</summary>'
        f"<p>{work.intro}</p>{_table(work.table, work.description)}{formula}</details>"
    )


def _checks(trace, view, slug):
    items = "".join(
        f'<li class="{"passed" if check.passed else "failed"}">{"✓" if check.passed else "✗"} '
        f"{html.escape(check.label)} <small>({html.escape(check.detail)})</small></li>"
        for check in stages.stage_checks(trace, view.head, slug)
    )
    return f'<ul class="checks" aria-label="checked on these numbers">{items}</ul>'


def _stage(trace, view, slug, drawn):  # a section whose id is the stage's number in its family: stage-4
    stage_view = stages.VIEWS[slug]
    explanation, formula = text.intro(trace, slug)
    note = family_of(trace).note(slug, trace, view.head)
    parts = [
        f'<section class="stage" id="stage-{stage_number(family_of(trace).stages, slug)}"><h2>{html.escape(text.title(family_of(trace).stages, slug))}</h2>',
        f'<p class="explanation">{_markdown(explanation)}</p>',
        f'<p class="explanation note">{_markdown(note)}</p>' if note else "",
        _formula(formula),
        f'<p class="shapes">{html.escape(text.shapes_line(stage_view.shapes(trace)))}</p>',
    ]
    if stage_view.note:
        parts.append(f"<p>{_markdown(stage_view.note(trace))}</p>")
    if stage_view.question:
        parts.append(_question(trace, view, slug))
    parts.append('<div class="answered">')  # hidden until the question above is answered
    parts += [drawn.add(panel, view.head, ROOM_PX) for panel in stages.stage_panels(trace, slug, view.head)]
    if stage_view.cell:
        parts.append(_numbers(trace, view, stage_view.cell))
    parts.append("</div>")
    parts.append(_checks(trace, view, slug))
    parts.append("</section>")
    return "".join(parts)


def lesson_html(trace, view=View()):  # AttentionTrace -> the lesson as one HTML document (text)
    """The whole lesson for ``trace``; ``view`` chooses the head and the cell that is worked through."""
    drawn = _Charts()
    body = _header(trace, view) + _overview(trace, view, drawn)
    body += "".join(_stage(trace, view, slug, drawn) for slug in family_of(trace).stages)
    title = f"Self-attention: {' '.join(trace.tokens)}"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title[:120])}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main>"
        f'<script type="application/json" id="trace-json">{_script_json(export.trace_json(trace, packed=True))}</script>'
        f'<script type="application/json" id="charts-json">{_script_json(drawn.json())}</script>'
        f"<script>window.CHART_CONFIG = {json.dumps(CHART_CONFIG)};</script>"
        f"<script>{plotly.offline.get_plotlyjs()}</script>"
        f"<script>{_SCRIPT}</script></body></html>"
    )


_STYLE = """
:root { color-scheme: light; font-family: "Source Sans 3", "Source Sans Pro", system-ui, sans-serif; }
body { margin: 0; background: #fff; color: #111; line-height: 1.5; }
main { max-width: 780px; margin: 0 auto; padding: 1rem 1.5rem 4rem; }
h1 { font-size: 2rem; margin: 0.5rem 0; }
.sentence { font-size: 1.4rem; font-weight: 600; overflow-wrap: anywhere; }
section.stage { border-top: 1px solid #ccc; padding: 1rem 0; scroll-margin-top: 0.5rem; }
section.stage:focus { outline: none; }
.formula { overflow-x: auto; font-size: 1.15rem; padding: 0.25rem; }
.shapes, small, .controls span { color: #444; }
.thumbnails { display: flex; flex-wrap: wrap; gap: 12px; }
.thumbnail { width: 240px; }
.thumbnail h3 { font-size: 1rem; margin: 0.25rem 0; }
.thumbnail p { font-size: 0.85rem; margin: 0 0 0.25rem; min-height: 2.6em; }
.chart { margin: 0.5rem 0; }
.quiz { border: 1px solid #bbb; border-radius: 8px; padding: 0.5rem 1rem; margin: 0.75rem 0; }
.quiz .options { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 0.5rem; }
button { font: inherit; padding: 0.25rem 0.75rem; border: 1px solid #888; border-radius: 6px; background: #f4f4f4; color: #111; cursor: pointer; }
button[aria-pressed="true"] { background: #cc2a36; border-color: #cc2a36; color: #fff; }
button:focus-visible, summary:focus-visible, a:focus-visible { outline: 2px solid #111; outline-offset: 2px; }
.answer { font-weight: 600; }
details.numbers { margin: 0.5rem 0; }
summary { cursor: pointer; font-weight: 600; }
table.numbers { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 0.5rem 0; }
table.numbers th, table.numbers td { padding: 0.1rem 0.5rem; border-bottom: 1px solid #ddd; text-align: right; }
.checks { list-style: none; padding: 0; }
.checks .passed { color: #0b6b2b; }
.checks .failed { color: #b00020; }
body.presenting main { max-width: none; padding: 1rem 2rem; }
body.presenting header, body.presenting section.stage:not(.current) { display: none; }
body.presenting section.stage { border: 0; font-size: 1.2rem; }
/* On a projector the teacher speaks: the screen keeps the formula, the question and the numbers. */
body.presenting .explanation, body.presenting .shapes, body.presenting .checks { display: none; }
@media print {
  header .controls, .quiz .reveal, .quiz .options { display: none; }
  .quiz .answer[hidden], .answered[hidden] { display: block !important; }
  section.stage { break-before: page; border: 0; }
  section.stage#stage-0 { break-before: auto; }
  .chart, table.numbers, .formula { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

_SCRIPT = """
(() => {
  const specs = JSON.parse(document.getElementById("charts-json").textContent);
  for (const [id, spec] of Object.entries(specs)) {
    Plotly.newPlot(id, spec.data, spec.layout, window.CHART_CONFIG);
  }
  // Predict first: the stage's numbers stay hidden until its question is revealed.
  for (const quiz of document.querySelectorAll(".quiz")) {
    const answered = quiz.parentElement.querySelector(".answered");
    answered.hidden = true;
    let chosen = null;
    for (const option of quiz.querySelectorAll(".option")) {
      option.setAttribute("aria-pressed", "false");
      option.addEventListener("click", () => {
        quiz.querySelectorAll(".option").forEach(o => o.setAttribute("aria-pressed", String(o === option)));
        chosen = option;
      });
    }
    quiz.querySelector(".reveal").addEventListener("click", () => {
      const guess = quiz.querySelector(".guess");
      let verdict = chosen ? chosen.dataset.verdict : "";
      if (guess && guess.value !== "") {
        const off = Math.abs(Number(guess.value) - Number(guess.dataset.answer));
        const right = off <= Number(guess.dataset.tolerance);
        verdict = `${right ? "Close enough" : "Not quite"}: you were off by ${off.toFixed(2)}.`;
      }
      quiz.querySelector(".verdict").textContent = verdict;
      quiz.querySelector(".answer").hidden = false;
      answered.hidden = false;
      answered.querySelectorAll(".js-plotly-plot").forEach(chart => Plotly.Plots.resize(chart));
    });
  }
  // The numbers of the whole trace, as the file that holds them.
  // Arrays are embedded as base64 float64 and written out as nested lists, as the app's download.
  const unpack = value => {
    if (value === null || typeof value !== "object" || !("shape" in value)) return value;
    const bytes = Uint8Array.from(atob(value.float64 ?? value.float32), c => c.charCodeAt(0));
    const flat = Array.from("float64" in value ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer));
    const nest = (offset, shape) => shape.length === 0 ? flat[offset] : Array.from({length: shape[0]},
      (_, k) => nest(offset + k * shape.slice(1).reduce((a, b) => a * b, 1), shape.slice(1)));
    return nest(0, value.shape);
  };
  document.getElementById("download-json").addEventListener("click", () => {
    const packed = JSON.parse(document.getElementById("trace-json").textContent);
    const trace = Object.fromEntries(Object.entries(packed).map(([name, value]) => [name, unpack(value)]));
    const blob = new Blob([JSON.stringify(trace)], {type: "application/json"});
    const link = Object.assign(document.createElement("a"), {href: URL.createObjectURL(blob), download: "attention_trace.json"});
    link.click();
    URL.revokeObjectURL(link.href);
  });
  // ← and → (or a presentation clicker's Page Up / Page Down) step through the stages.
  const stages = [...document.querySelectorAll("section.stage")];
  let current = 0;
  const show = index => {
    current = Math.max(0, Math.min(stages.length - 1, index));
    stages.forEach((stage, k) => stage.classList.toggle("current", k === current));
    stages[current].setAttribute("tabindex", "-1");
    stages[current].focus({preventScroll: true});
    stages[current].scrollIntoView({block: "start"});
  };
  document.addEventListener("keydown", event => {
    if (event.target.closest("input, textarea, select")) return;
    if (event.key === "ArrowRight" || event.key === "PageDown") { show(current + 1); event.preventDefault(); }
    if (event.key === "ArrowLeft" || event.key === "PageUp") { show(current - 1); event.preventDefault(); }
  });
  const present = document.getElementById("present");
  present.addEventListener("click", () => {
    document.body.classList.add("presenting");
    show(current);
    document.documentElement.requestFullscreen?.().catch(() => {});
  });
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement) document.body.classList.remove("presenting");
  });
  document.addEventListener("keydown", event => {
    if (event.key === "Escape") document.body.classList.remove("presenting");
  });
  show(0);
  window.scrollTo(0, 0);
})();
"""


def _token_index(tokens, label, option):  # a token label from --query/--key -> its index
    if label is None:
        return 0
    if label not in tokens:
        raise AttentionInputError(
            f"{option} “{label}” is not one of the sentence's tokens: {', '.join(tokens)}."
        )
    return tokens.index(label)


def build(arguments):  # parsed arguments -> (AttentionTrace, View)
    family = FAMILIES[arguments.model]
    status = family.status()
    if not status.available:
        raise AttentionInputError(f"The model {family.key} is unavailable: {status.message}")
    options = {option.name: getattr(arguments, option.name) for option in family.options}
    trace = family.trace(arguments.sentence, options | {"layer": arguments.layer})
    heads = trace.config.n_heads
    if not 1 <= arguments.head <= heads:
        raise AttentionInputError(f"--head must be between 1 and {heads}; got {arguments.head}.")
    tokens = frames.token_labels(trace.tokens)
    view = View(
        head=arguments.head - 1,
        query=_token_index(tokens, arguments.query, "--query"),
        key=_token_index(tokens, arguments.key, "--key"),
        sentence=arguments.sentence,
    )
    return trace, view


def _add_option(command, option, seen):  # one family's Option -> its command-line option (once per name)
    if option.name in seen:
        return
    seen.add(option.name)
    flag = option.name.replace("_", "-")
    if isinstance(option.default, bool):  # a switch: --causal turns it on, --no-scale turns it off
        command.add_argument(
            f"--{flag}" if not option.default else f"--no-{flag}",
            dest=option.name,
            action="store_false" if option.default else "store_true",
            help=option.help,
        )
        return
    kind = "one of " + ", ".join(option.choices) if option.choices else f"{option.low:g} to {option.high:g}"
    command.add_argument(
        f"--{flag}", dest=option.name, type=_parsed(option), default=option.default,
        help=f"{option.help} ({kind}; default {option.url_text(option.default)})",
    )  # fmt: skip


def _parsed(option):  # -> argparse's type for the option: its own strict reading, the app's message
    def parse(text):
        try:
            return option.parse(text)
        except AttentionInputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = option.name  # argparse names the type in its message
    return parse


def parser():
    command = argparse.ArgumentParser(
        prog="python -m attention_viz.lesson",
        description="Write one sentence's self-attention lesson as a single HTML file that needs no server.",
    )
    command.add_argument("sentence", help="the sentence, in quotes")
    command.add_argument("-o", "--output", type=Path, default=Path("lesson.html"), help="the file to write")
    command.add_argument("--model", choices=tuple(FAMILIES), default=DEFAULT, help="the model family")
    command.add_argument("--layer", type=int, default=0, help="the layer, from 0 (models with several)")
    command.add_argument("--head", type=int, default=1, help="the head shown, from 1")
    seen = set()
    for family in FAMILIES.values():
        group = command.add_argument_group(f"--model {family.key}", family.summary)
        for option in family.options:
            _add_option(group, option, seen)
    command.add_argument("--query", help="the query token worked through (a token label, as in the app)")
    command.add_argument("--key", help="the key token worked through")
    return command


def main(argv=None):
    command = parser()
    arguments = command.parse_args(argv)
    try:
        trace, view = build(arguments)
    except AttentionInputError as error:
        command.exit(2, f"{command.prog}: {error}\n")  # the app's own message; no file is written
    arguments.output.write_text(lesson_html(trace, view), encoding="utf-8")
    print(f"Wrote {arguments.output} ({arguments.output.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
