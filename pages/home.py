"""Home: what the app is for, and where to go."""

import streamlit as st

from cnnviz.page_list import page, page_path
from models import ClassifierConfig, bottleneck_shape, flatten_size
from models.autoencoder import AutoencoderConfig

st.title("cnnviz: convolutional networks you can touch")
st.markdown(
    """
A convolution slides a small kernel over an image and writes one number per
position. Stack a few, add pooling and a skip connection, and you have the
residual CNN of the course lab. This app lets you see every step for real:
the numbers come from PyTorch itself, not from a drawing.
"""
)

classifier, autoencoder = ClassifierConfig(), AutoencoderConfig()
c, h, w = bottleneck_shape(autoencoder)
st.markdown(
    f"""
**The lab's networks in this app**
- a classifier: {len(classifier.backbone.channels)} stages of convolution, residual block and max pooling,
  flattened to {flatten_size(classifier)} features, then a linear layer to 10 digits;
- an autoencoder with the same encoder, squeezing a 28 x 28 digit (784 pixels) into
  {c} x {h} x {w} = {c * h * w} numbers and back.
"""
)

LINKS = {  # page name -> what the link says (file and icon: cnnviz.page_list)
    "explorer": "Layer explorer: one layer, every option, the formula filled in",
    "network": "Network builder: stack layers and follow the shape",
    "draw": "Draw a digit: its prediction, what each layer sees, its reconstruction",
    "train": "Train: the residual CNN and the autoencoder, live, in the background",
    "explorer1d": "1-D explorer: a kernel sliding along DNA or a signal",
    "solver": "Which layer gives this size? Every kernel, stride and padding",
    "inside": "Inside the network: receptive fields, why this answer, latent space",
    "lessons": "Lessons: the lab step by step, with questions that check themselves",
    "classroom": "Class (teacher): who is where, how answers go, move the room",
}
for name, label in LINKS.items():
    st.page_link(page_path(name), label=label, icon=page(name).icon)
