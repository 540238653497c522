"""Every page of the app, declared once: the sidebar list, previous/next links and tests read this.

A stage page's file keeps its number (``pages/4_scores.py``, URL path ``scores``) whatever model is
chosen; its title's number is the stage's place in the chosen family's walkthrough (``walkthrough``).
"""

from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from attention_core.stages import SEVEN, STAGES
from attention_viz import text

_LINKS = {}  # (the app's main script, a page's path) -> its st.Page, for Page.link


@dataclass(frozen=True)
class Page:
    path: str  # the script, relative to app.py; its file name sets the URL
    title: str  # for a stage page, without its number (which depends on the family)
    icon: str  # a Material Symbols name, bundled with Streamlit (works offline)
    stage: str | None = None  # the stage's slug, for the walkthrough's stage pages
    draws: tuple = ()  # family options the page draws itself, so the sidebar leaves them out

    @property
    def link(self):  # -> what st.page_link is given: a path would be looked up on the disk at every call
        if self.path == "app.py":  # the main page is registered as "", which st.Page("app.py") is not
            return self.path
        key = (get_script_run_ctx().main_script_path, self.path)
        if key not in _LINKS:  # made once per app and process, within a run (st.Page needs one), shared
            _LINKS[key] = st.Page(self.path)
        return _LINKS[key]

    @property
    def url_path(self):  # "" for the overview, "scores" for pages/4_scores.py (Streamlit drops the number)
        return (
            ""
            if self.path == "app.py"
            else self.path.removeprefix("pages/").removesuffix(".py").split("_", 1)[1]
        )

    def title_for(self, family):  # -> the title in the page list and heading: "4. Raw scores"
        return text.title(family.stages, self.stage) if self.stage in family.stages else self.title

    def icon_for(self, family):
        if self.stage in family.stages:
            return f":material/counter_{family.stages.index(self.stage) + 1}:"
        return self.icon


OVERVIEW = Page("app.py", "Overview", ":material/dashboard:")
FILES = {  # slug -> its page's file; the textbook's keep their numbers, so links never change
    **{slug: f"pages/{number}_{slug}.py" for number, slug in enumerate(SEVEN, 1)},
    "rotate": "pages/15_rotate.py",  # a decoder LLM's stage (attention_core.families.decoder)
}
STAGE_PAGES = {slug: Page(FILES[slug], STAGES[slug].title, ":material/looks_one:", slug) for slug in STAGES}
EXTRA_PAGES = (
    Page("pages/8_heads.py", "Heads and W_o", ":material/join:"),
    Page("pages/9_why_scale.py", "Why √d_k?", ":material/help:"),
    Page("pages/10_glossary.py", "Glossary and classroom use", ":material/menu_book:"),
    Page("pages/11_model_view.py", "Every head of every layer", ":material/grid_view:"),
    Page("pages/12_what_if.py", "What if? Edit a number", ":material/edit:"),
    Page("pages/13_compare.py", "Compare two runs", ":material/compare:"),
    Page(
        "pages/14_watch_it_learn.py",
        "Watch it learn",
        ":material/model_training:",
        draws=("task", "train_seed"),
    ),
    Page("pages/16_next_word.py", "Next word", ":material/keyboard_double_arrow_right:"),
    Page("pages/17_atlas.py", "Atlas of heads", ":material/category:"),
    Page("pages/18_across_layers.py", "Across layers", ":material/stacks:"),
)
PAGES = (OVERVIEW, *STAGE_PAGES.values(), *EXTRA_PAGES)  # every page, in the order of their files


def page_at(path):  # "pages/12_what_if.py" -> its Page
    return next(page for page in PAGES if page.path == path)


def stage_page(slug):  # "scores" -> Page
    return STAGE_PAGES[slug]


def walkthrough(family):  # -> the pages in order for this family: overview, its stages, the others
    return (OVERVIEW, *(STAGE_PAGES[slug] for slug in family.stages), *EXTRA_PAGES)


def neighbours(page, family):  # -> (previous Page or None, next Page or None) in the family's walkthrough
    pages = walkthrough(family)
    if page not in pages:  # a stage this family does not have: back to the overview, on to the first stage
        return OVERVIEW, pages[1]
    index = pages.index(page)
    previous = pages[index - 1] if index > 0 else None
    following = pages[index + 1] if index + 1 < len(pages) else None
    return previous, following
