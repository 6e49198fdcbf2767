"""What trained networks do with an input: every layer's maps and the probabilities (:mod:`~.features`), receptive
fields on real inputs (:mod:`~.receptive`), saliency and Grad-CAM (:mod:`~.attribution`), what the filters look
for (:mod:`~.filters`), the autoencoder's latent plane (:mod:`~.latent`), and those results kept per model file
(:mod:`~.model_cache`).

May import :mod:`models`, :mod:`cnnviz.layers`, :mod:`cnnviz.data` and :mod:`cnnviz.training.runs` (where the cache
lives); used by :mod:`cnnviz.views` and :mod:`cnnviz.teaching`.
"""
