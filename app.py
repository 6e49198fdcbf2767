"""cnnviz: routes only. Page config, navigation; each view lives in pages/."""

import streamlit as st

st.set_page_config(page_title="cnnviz: CNNs made tangible", page_icon="🧮", layout="wide")


def pages() -> list[st.Page]:
    """This session's pages, made on its first run and kept in its state.

    Making ten ``st.Page`` objects costs ~1.5 ms of every full rerun (each resolves its file's path). They are
    not shared between sessions: navigation marks the chosen page callable on the object itself.
    """
    if "app_pages" not in st.session_state:
        st.session_state["app_pages"] = [
            st.Page("pages/home.py", title="Home", icon="🏠", default=True),
            st.Page("pages/explorer.py", title="Layer explorer", icon="🔍", url_path="explorer"),
            st.Page("pages/explorer1d.py", title="1-D explorer (sequences)", icon="🧬", url_path="explorer1d"),
            st.Page("pages/network.py", title="Network builder", icon="🧱", url_path="network"),
            st.Page("pages/solver.py", title="Which layer gives this size?", icon="🎯", url_path="solver"),
            st.Page("pages/draw.py", title="Draw a digit", icon="✏️", url_path="draw"),
            st.Page("pages/training.py", title="Train", icon="🏋️", url_path="train"),
            st.Page("pages/inside.py", title="Inside the network", icon="🧠", url_path="inside"),
            st.Page("pages/lessons.py", title="Lessons", icon="🎓", url_path="lessons"),
            st.Page("pages/classroom.py", title="Class", icon="🧑‍🏫", url_path="class"),
        ]
    return st.session_state["app_pages"]


st.navigation(pages()).run()
