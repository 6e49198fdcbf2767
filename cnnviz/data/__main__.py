"""``python -m cnnviz.data [--download]``: say where MNIST is read from, and fetch it there."""

from cnnviz.data.mnist import main

if __name__ == "__main__":
    main()
