"""Training the lab's networks: the recipe (:mod:`~.recipe`), the run folder that pages read (:mod:`~.runs`), the
background queue (:mod:`~.jobs` for the pages, :mod:`~.worker` on Huey, :mod:`~.state` the torch-free part of the run
folder), the command line (:mod:`~.cli`, ``python -m cnnviz.train``) and
the bottleneck comparison (:mod:`~.bottleneck`).

Knows nothing of the UI: pages read the run folder. May import :mod:`models`, :mod:`cnnviz.data` and
:mod:`cnnviz.layers`. Importing this package imports nothing, so ``python -m cnnviz.training.worker`` stays small
and the command line can set its thread policy before torch loads.
"""
