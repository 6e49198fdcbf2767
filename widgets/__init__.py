"""Browser components of the pages (Streamlit's v2 component API: inline JS and CSS, no build step).

Each draws in the browser from a small description computed by ``cnnviz``, so an
update sends kilobytes instead of a plotly figure and the browser paints it in
milliseconds. Only pages import this package; ``cnnviz`` knows nothing of it.
"""
