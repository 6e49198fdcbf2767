"""The inputs: MNIST (:mod:`~cnnviz.data.mnist`), shipped samples and uploads (:mod:`~cnnviz.data.images`), a
drawing made into an MNIST digit (:mod:`~cnnviz.data.preprocess`), DNA and signals (:mod:`~cnnviz.data.sequences`).

May import :mod:`cnnviz.layers`, :mod:`cnnviz.device` and :mod:`cnnviz.files`; nothing above. ``python -m cnnviz.data
--download`` fills ``$CNNVIZ_DATA_DIR`` with MNIST. MNIST's names stay importable from here
(``from cnnviz.data import load_mnist``).
"""

from cnnviz.data.mnist import (  # noqa: F401
    DATA_DIR_ENV,
    MNIST,
    SHIPPED_DIGITS,
    SPLIT_SEED,
    TRAIN_FRACTION,
    MNISTNotFound,
    Split,
    batches,
    data_dir,
    load_mnist,
    mnist_test_digit,
    shipped_test_digits,
    split_indices,
    test_digits,
    to_float,
)
