"""Every stage as data, keyed by its slug: its text, shapes, panels, checks, question and worked cell.

The steps-as-data idea (Transformer Explainer's ``textbookPages.ts``): a stage page, the overview and the
lesson file read a stage's row here and draw it; none of them asks which stage it is by number. A stage
that only one family has is one more row.
"""

from collections.abc import Callable
from dataclasses import dataclass

from attention_core.stages import STAGES, Stage
from attention_viz import checks, panels, quiz, text


@dataclass(frozen=True)
class StageView:
    stage: Stage  # slug, title, fields and summary (attention_core.stages)
    shapes: Callable  # trace -> ((name, shape), ...): what goes in and what comes out
    panels: Callable  # (trace, head) -> [Panel]: the matrices the stage computes
    checks: Callable  # (trace, head) -> [Check]: its shapes and invariants, on the numbers shown
    overview: tuple  # names of its panels the overview puts side by side in its thumbnail
    question: Callable | None = None  # (trace, head, draw) -> Question, for predict first
    cell: str | None = None  # what "Show me the numbers" works through (attention_viz.numbers.CELLS)
    note: Callable | None = None  # trace -> markdown said under the stage's formula

    @property
    def slug(self):
        return self.stage.slug


VIEWS = {
    view.slug: view
    for view in (
        StageView(STAGES["embedding"], text.embedding_shapes, panels.embedding, checks.embedding, ("X",)),
        StageView(
            STAGES["projection"], text.projection_shapes, panels.projection, checks.projection, ("W_q", "W_k", "W_v")
        ),
        StageView(STAGES["qkv"], text.qkv_shapes, panels.qkv, checks.qkv, ("Q", "K", "V")),
        StageView(
            STAGES["scores"], text.scores_shapes, panels.scores, checks.scores, ("scores",), quiz.scores, "pair"
        ),
        StageView(
            STAGES["scaling"], text.scaling_shapes, panels.scaling, checks.scaling, ("scaled",), quiz.scaling,
            "pair", text.divisor_note,
        ),
        StageView(
            STAGES["softmax"], text.softmax_shapes, panels.softmax, checks.softmax, ("weights",), quiz.softmax, "row"
        ),
        StageView(
            STAGES["output"], text.output_shapes, panels.output, checks.output, ("head_output",), quiz.output, "output"
        ),
        StageView(
            STAGES["rotate"], text.rotate_shapes, panels.rotate, checks.rotate, ("Q_rotated", "K_rotated"), quiz.rotate
        ),
    )
}  # fmt: skip


def stage_panels(trace, slug, head=0):  # -> [Panel] the stage computes, for one head
    return VIEWS[slug].panels(trace, head)


def stage_checks(trace, head, slug):  # -> [Check] of the stage, for the head shown
    return VIEWS[slug].checks(trace, head)


def overview_panels(trace, stages, head=0):  # a family's stage slugs -> {slug: Panel}, one matrix per stage
    shown = {}
    for number, slug in enumerate(stages, 1):
        view = VIEWS[slug]
        by_name = {panel.name: panel for panel in view.panels(trace, head)}
        title = f"{number}. {view.stage.title}"
        key = f"overview_{number}_{slug}"  # the chart's key: overview_6_softmax
        shown[slug] = panels.side_by_side([by_name[name] for name in view.overview], key, title)
    return shown


def stage_figures(trace, slug, head=0, room=panels.layout.ROOM_PX):  # -> [figure]: the stage's panels, drawn
    return [panels.panel_figure(panel, room) for panel in stage_panels(trace, slug, head)]
