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
package may use; :mod:`cnnviz.train` (``python -m cnnviz.train``) and :mod:`cnnviz.arithmetic` (the shape arithmetic
under its documented name) are aliases. Submodules are imported explicitly so that importing the package stays cheap.
"""
