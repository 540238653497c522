"""Every page of the app, declared once: the sidebar list, previous/next links and tests read this."""

from dataclasses import dataclass

from attention_core import STAGES


@dataclass(frozen=True)
class Page:
    path: str  # the script, relative to app.py; its file name sets the URL
    title: str
    icon: str  # a Material Symbols name, bundled with Streamlit (works offline)
    stage: int | None = None  # the stage number for the seven walkthrough pages

    @property
    def url_path(self):  # "" for the overview, "scores" for pages/4_scores.py (Streamlit drops the number)
        return (
            ""
            if self.path == "app.py"
            else self.path.removeprefix("pages/").removesuffix(".py").split("_", 1)[1]
        )


OVERVIEW = Page("app.py", "Overview", ":material/dashboard:")
STAGE_PAGES = tuple(
    Page(
        f"pages/{s.number}_{s.slug}.py", f"{s.number}. {s.title}", f":material/counter_{s.number}:", s.number
    )
    for s in STAGES
)
EXTRA_PAGES = (
    Page("pages/8_heads.py", "Heads and W_o", ":material/join:"),
    Page("pages/9_why_scale.py", "Why √d_k?", ":material/help:"),
    Page("pages/10_glossary.py", "Glossary and classroom use", ":material/menu_book:"),
    Page("pages/11_model_view.py", "MiniLM: every head", ":material/grid_view:"),
    Page("pages/12_what_if.py", "What if? Edit a number", ":material/edit:"),
    Page("pages/13_compare.py", "Compare two runs", ":material/compare:"),
    Page("pages/14_watch_it_learn.py", "Watch it learn", ":material/model_training:"),
)
PAGES = (OVERVIEW, *STAGE_PAGES, *EXTRA_PAGES)


def stage_page(number):  # 1..7 -> Page
    return STAGE_PAGES[number - 1]


def neighbours(page):  # -> (previous Page or None, next Page or None) in walkthrough order
    index = PAGES.index(page)
    previous = PAGES[index - 1] if index > 0 else None
    following = PAGES[index + 1] if index + 1 < len(PAGES) else None
    return previous, following
