"""Start the cnnviz server: ``streamlit run app.py``, tuned for a classroom on a small machine.

Usage: ``python serve.py [streamlit options]``, e.g. ``--server.port 8501``.

With ``CNNVIZ_WORKERS`` above 1 (default: one per core) it starts that many Streamlit processes on localhost
ports behind the sticky door of ``serving`` on the given address and port (see serving/supervisor.py); with 1 it
is the one Streamlit process itself (serving/worker.py).
"""

import sys
from pathlib import Path

from serving import supervisor

if __name__ == "__main__":
    workers = supervisor.worker_count()
    if workers > 1:
        sys.exit(supervisor.serve(Path(__file__).resolve().parent, sys.argv[1:], workers))
    from serving import worker

    worker.freeze_imports()
    sys.exit(worker.run_streamlit(sys.argv[1:]))
