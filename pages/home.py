"""Home: what the app is for, and where to go."""

import streamlit as st

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

st.page_link("pages/explorer.py", label="Layer explorer: one layer, every option, the formula filled in", icon="🔍")
st.page_link("pages/network.py", label="Network builder: stack layers and follow the shape", icon="🧱")
st.page_link("pages/draw.py", label="Draw a digit: its prediction, what each layer sees, its reconstruction", icon="✏️")
st.page_link(
    "pages/training.py", label="Train: the residual CNN and the autoencoder, live, in the background", icon="🏋️"
)
st.page_link("pages/explorer1d.py", label="1-D explorer: a kernel sliding along DNA or a signal", icon="🧬")
st.page_link("pages/solver.py", label="Which layer gives this size? Every kernel, stride and padding", icon="🎯")
st.page_link("pages/inside.py", label="Inside the network: receptive fields, why this answer, latent space", icon="🧠")
st.page_link("pages/lessons.py", label="Lessons: the lab step by step, with questions that check themselves", icon="🎓")
st.page_link("pages/classroom.py", label="Class (teacher): who is where, how answers go, move the room", icon="🧑‍🏫")
