"""Start the cnnviz server: ``streamlit run app.py``, tuned for a classroom on a small machine.

Usage: ``python serve.py [streamlit options]``, e.g. ``--server.port 8501``.

With ``CNNVIZ_WORKERS`` above 1 (default: one per core), or with ``CNNVIZ_TLS`` set, it starts that many Streamlit
processes on localhost ports behind Caddy on the given address and port (see serving/supervisor.py and
serving/front.py); with 1 it is the one Streamlit process itself (serving/streamlit_worker.py). Either way this host's
training queue worker (cnnviz/training/worker.py) runs beside them, unless ``CNNVIZ_QUEUE_WORKER=0``, and stops
with them.

Across several machines (docs/serving.md, "Several machines"): ``CNNVIZ_ROLE=app`` runs the workers alone on the
given address, from the given port on; ``CNNVIZ_ROLE=front`` runs Caddy alone in front of ``CNNVIZ_UPSTREAMS``
(and no queue worker).
"""

import sys
from pathlib import Path

from cnnviz.training import worker as training
from serving import supervisor

if __name__ == "__main__":
    app_dir = Path(__file__).resolve().parent
    role = supervisor.role()
    workers = supervisor.worker_count()
    try:
        # before anything starts: a second serve.py on a taken port must not start a second queue worker either
        supervisor.preflight(supervisor.streamlit_settings(app_dir, sys.argv[1:]), role, workers)
    except KeyboardInterrupt:
        sys.exit(130)
    if role is supervisor.Role.FRONT:
        sys.exit(supervisor.serve_front(app_dir, sys.argv[1:]))
    trainings = training.start_local(app_dir)
    try:
        if role is supervisor.Role.APP or supervisor.uses_front(workers):
            sys.exit(supervisor.serve(app_dir, sys.argv[1:], workers, role))
        try:
            from serving import streamlit_worker as worker

            worker.freeze_imports()
        except KeyboardInterrupt:  # Ctrl-C while torch loads: nothing started yet, nothing to say
            sys.exit(130)
        sys.exit(worker.run_streamlit(sys.argv[1:]))
    finally:
        training.stop_local(trainings)  # its trainings save and wait queued for the next start
