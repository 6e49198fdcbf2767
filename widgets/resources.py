"""What every session shares, loaded once per process: models, the lesson files, the class database.

Defined here, in a module the pages import, rather than in the pages: a page script runs again on every
rerun, and re-running ``@st.cache_resource`` re-wraps the function (Streamlit reads its source to key the
cache) on every click.
"""

from __future__ import annotations

import streamlit as st

from cnnviz.teaching import lesson_files
from cnnviz.teaching.class_db import Classroom
from cnnviz.views.model_sources import load_checked


@st.cache_resource(max_entries=8, show_spinner="Loading the model ...")
def model_from_file(path: str, modified: float, kind: str):
    """A checkpoint's model, loaded once per file version (``modified`` changes when it is rewritten)."""
    return load_checked(path, kind)


@st.cache_resource(max_entries=2, show_spinner="Loading the checkpoint ...")
def model_from_upload(data: bytes, kind: str):
    """An uploaded checkpoint's model (the last two uploads are kept)."""
    return load_checked(data, kind)


@st.cache_resource(show_spinner=False)
def load_lessons(folder: str, stamp: tuple) -> tuple[lesson_files.Lesson, ...]:
    """The lesson files, read again whenever one changes (``stamp``)."""
    return lesson_files.load_lessons(folder)


@st.cache_resource(show_spinner=False)
def open_classroom(url: str) -> Classroom:
    """The class database, once per process (SQLite: a short connection per call; PostgreSQL: the process's pool).

    A database that cannot be opened raises, and nothing is cached: the next run tries again."""
    return Classroom(url)
