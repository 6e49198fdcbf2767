"""One layer explored: the 2-D explorer (:mod:`~cnnviz.explorer.layer2d`: settings that travel in a link, the
formula with the student's numbers, feature maps of the real layer), the 1-D one (:mod:`~cnnviz.explorer.layer1d`),
the sliding window's steps (:mod:`~cnnviz.explorer.animation`) and the kernels it offers
(:mod:`~cnnviz.explorer.kernels`).

May import :mod:`cnnviz.layers` and :mod:`cnnviz.data`; used by :mod:`cnnviz.teaching` (a lesson links to an
explorer view, a quiz explains with its formula) and :mod:`cnnviz.views`.
"""
