"""The app's pages, once: file, title, icon and address of each.

``app.py`` makes its ``st.Page`` objects from this list, the pages link to each other through
:func:`page_path`, the lessons name the views a step may open by these names, and the tests switch pages
with it. Plain records, no streamlit: it sits at the top of ``cnnviz`` with no import of its own, so
``cnnviz.teaching`` and ``app.py`` both read it without a package depending on a page or the app.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    """One page of the app, as ``st.Page`` takes it."""

    name: str  # the name the code and the lesson files use
    path: str  # the page's file, relative to the app's folder (what st.page_link and st.switch_page want)
    title: str
    icon: str
    url_path: str | None = None  # None: the default page, at the root address
    default: bool = False


PAGES: tuple[PageInfo, ...] = (
    PageInfo("home", "pages/home.py", "Home", "🏠", default=True),
    PageInfo("explorer", "pages/explorer.py", "Layer explorer", "🔍", "explorer"),
    PageInfo("explorer1d", "pages/explorer1d.py", "1-D explorer (sequences)", "🧬", "explorer1d"),
    PageInfo("network", "pages/network.py", "Network builder", "🧱", "network"),
    PageInfo("solver", "pages/solver.py", "Which layer gives this size?", "🎯", "solver"),
    PageInfo("draw", "pages/draw.py", "Draw a digit", "✏️", "draw"),
    PageInfo("train", "pages/training.py", "Train", "🏋️", "train"),
    PageInfo("inside", "pages/inside.py", "Inside the network", "🧠", "inside"),
    PageInfo("lessons", "pages/lessons.py", "Lessons", "🎓", "lessons"),
    PageInfo("classroom", "pages/classroom.py", "Class", "🧑‍🏫", "class"),
)
BY_NAME: dict[str, PageInfo] = {page.name: page for page in PAGES}


def page(name: str) -> PageInfo:
    """The page called ``name`` (a KeyError names it if there is none)."""
    return BY_NAME[name]


def page_path(name: str) -> str:
    """The file of the page called ``name``, as st.page_link and st.switch_page take it."""
    return BY_NAME[name].path
