"""Serving a class: several Streamlit processes behind one sticky door."""
