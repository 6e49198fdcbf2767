"""Start the cnnviz server: ``streamlit run app.py``, tuned for a classroom on a small machine.

Usage: ``python serve.py [streamlit options]``, e.g. ``--server.port 8501``.

With ``CNNVIZ_WORKERS`` above 1 (default: one per core), or with ``CNNVIZ_TLS`` set, it starts that many Streamlit
processes on localhost ports behind Caddy on the given address and port (see serving/supervisor.py and
serving/front.py); with 1 it is the one Streamlit process itself (serving/worker.py).
"""

import sys
from pathlib import Path

from serving import supervisor

if __name__ == "__main__":
    app_dir = Path(__file__).resolve().parent
    workers = supervisor.worker_count()
    if supervisor.uses_front(workers):
        sys.exit(supervisor.serve(app_dir, sys.argv[1:], workers))
    try:
        supervisor.refuse_taken_port(supervisor.streamlit_settings(app_dir, sys.argv[1:]).front)
        from serving import worker

        worker.freeze_imports()
    except KeyboardInterrupt:  # Ctrl-C while torch loads: nothing started yet, nothing to say
        sys.exit(130)
    sys.exit(worker.run_streamlit(sys.argv[1:]))
