"""Serving a class: several Streamlit processes behind Caddy, each browser kept on its own."""
