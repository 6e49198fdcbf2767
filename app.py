"""cnnviz: routes only. Page config, navigation; each view lives in pages/."""

import streamlit as st

from cnnviz.page_list import PAGES

st.set_page_config(page_title="cnnviz: CNNs made tangible", page_icon="🧮", layout="wide")


def pages() -> list[st.Page]:
    """This session's pages, made on its first run and kept in its state.

    Making ten ``st.Page`` objects costs ~1.5 ms of every full rerun (each resolves its file's path). They are
    not shared between sessions: navigation marks the chosen page callable on the object itself.
    """
    if "app_pages" not in st.session_state:
        st.session_state["app_pages"] = [
            st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path, default=p.default) for p in PAGES
        ]
    return st.session_state["app_pages"]


st.navigation(pages()).run()
