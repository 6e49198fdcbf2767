"""cnnviz: the computation behind the app. Never imports streamlit.

Packages by concept; each one's docstring says what it owns and what it may import. Dependencies point one way:

    views  ->  explorer, analysis, training, teaching  ->  data, layers
    (models: used by training, analysis, views; it uses only cnnviz.layers.arithmetic and cnnviz.files)

- :mod:`cnnviz.layers`: what a layer is (the arithmetic, the kind registry, specs, stacks, the solver, code export)
- :mod:`cnnviz.data`: MNIST, shipped samples, uploads, a drawing's preprocessing, 1-D sequences
- :mod:`cnnviz.explorer`: one layer explored (2-D and 1-D): settings, the filled-in formula, feature maps, animation
- :mod:`cnnviz.analysis`: what trained networks do with an input (features, receptive fields, saliency, filters,
  latent space)
- :mod:`cnnviz.training`: recipes, the run folder, the background queue, the command line
- :mod:`cnnviz.teaching`: lessons, quizzes, the class database
- :mod:`cnnviz.views`: what each page shows, computed without Streamlit

Top-level modules: :mod:`cnnviz.files` (atomic writes) and :mod:`cnnviz.device` (where tensors live), which every
package may use; :mod:`cnnviz.page_list` (the app's pages, read by app.py, the pages' links, the lessons and the
tests); :mod:`cnnviz.train`, the ``python -m cnnviz.train`` alias of :mod:`cnnviz.training.cli`. Submodules are
imported explicitly so that importing the package stays cheap.
"""

import os

# The one place the thread policy is set, before any cnnviz module (or whoever imports cnnviz first) loads
# torch: its OpenMP threads busy-wait by default, and on a shared 2-core machine two spinning processes (the
# app beside a background training run) slow each other 5-10x (measured: 124 vs 912 img/s training under load;
# docs/speed.md). Sleeping waits cost little alone. A process that imports torch before cnnviz must import
# cnnviz first (serving/streamlit_worker.py, benchmarks/__main__.py); child processes inherit it via the environment.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
