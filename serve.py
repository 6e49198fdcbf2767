"""Start the cnnviz server: ``streamlit run app.py``, tuned for a classroom on a small machine.

Usage: ``python serve.py [streamlit options]``, e.g. ``--server.port 8501``.

With ``CNNVIZ_WORKERS`` above 1 (default: one per core) it starts that many Streamlit processes on localhost
ports behind the sticky door of ``serving`` on the given address and port (see serving/supervisor.py); with 1 it
is the one Streamlit process itself (serving/worker.py). Either way this host's training queue worker
(cnnviz/training/worker.py) runs beside them, unless ``CNNVIZ_QUEUE_WORKER=0``, and stops with them.
"""

import sys
from pathlib import Path

from cnnviz.training import worker as training
from serving import supervisor

if __name__ == "__main__":
    trainings = training.start_local(Path(__file__).resolve().parent)
    try:
        workers = supervisor.worker_count()
        if workers > 1:
            sys.exit(supervisor.serve(Path(__file__).resolve().parent, sys.argv[1:], workers))
        from serving import worker

        worker.freeze_imports()
        sys.exit(worker.run_streamlit(sys.argv[1:]))
    finally:
        training.stop_local(trainings)  # its trainings save and wait queued for the next start
