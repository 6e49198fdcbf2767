"""Every patch of Streamlit's private API that cnnviz makes, in one place; importing this module applies them.

Each one names what it changes and why. A Streamlit upgrade checks these first: tests/serving/test_serve.py
fails when one stops taking effect.
"""

import os

from streamlit import config
from streamlit.runtime.app_session import AppSession
from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import bootstrap
from streamlit.web.server.starlette import starlette_server

from serving.front import BEHIND_FRONT_ENV

# app.py routes with st.navigation, but Streamlit still sees the pages/ folder
# and, until app.py has run once in this process, serves a deep link such as
# /explorer?kernel=5 (a teacher's shared link, right after a server restart) by
# running pages/explorer.py alone: no navigation, no page config. Declaring the
# app navigation-routed up front closes that gap; tests/test_serve.py checks it.
PagesManager.uses_pages_directory = False


def _no_config_watchers(flag_options: dict) -> None:
    """Streamlit polls every config.toml five times a second to reload it, whatever
    ``server.fileWatcherType`` says: about 6% of a core on an idle 2-core server.
    A classroom server reads its settings once; restart it to change them."""


bootstrap._install_config_watchers = _no_config_watchers

_print_url = bootstrap._print_url


def _only_the_fronts_url(is_running_hello: bool) -> None:
    """Behind Caddy each worker would print its own loopback address ("You can now view your Streamlit app ...
    URL: http://127.0.0.1:49263"), which is not the one to give students: the supervisor prints the front's."""
    if os.environ.get(BEHIND_FRONT_ENV) != "1":
        _print_url(is_running_hello)


bootstrap._print_url = _only_the_fronts_url


def _no_clear_cache_from_clients(self) -> None:
    """Any browser may send Streamlit's ``clear_cache`` message (the developer menu's "Clear cache"), and Streamlit
    1.67 then empties ``st.cache_data`` and ``st.cache_resource`` for every session of the process (the models, the
    lessons, the class database's pool) and the sender's state. On a shared server no client may do that: a restart
    clears the caches."""


AppSession._handle_clear_cache_request = _no_clear_cache_from_clients

_streamlit_app = starlette_server.create_starlette_app


def _app_with_our_routes(runtime):
    """Streamlit's web app with serving/routes.py's routes in front (what the Train and Lessons pages ask)."""
    from serving import routes  # here, not above: it imports torch, which the supervisor's own process never needs

    app = _streamlit_app(runtime)
    routes.install(app, config.get_option("server.baseUrlPath"))
    return app


starlette_server.create_starlette_app = _app_with_our_routes
