"""Teaching: lessons as files (:mod:`~.lesson_files`), questions that check themselves (:mod:`~.quiz`) and the
class database (:mod:`~.class_db`).

May import :mod:`cnnviz.explorer`, :mod:`cnnviz.analysis`, :mod:`cnnviz.data`, :mod:`cnnviz.layers` and
:mod:`models`; used by :mod:`cnnviz.views`, the pages and :mod:`serving`.
"""
