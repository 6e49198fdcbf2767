"""Network shape builder (under construction)."""

import streamlit as st

st.title("Network builder")
