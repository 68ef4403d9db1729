"""art: neural style transfer (Gatys et al.) as an explicit TensorFlow 1-style graph.

Importing the package does no work: TensorFlow is imported only by the modules
that build graphs, and graph mode is switched on by the entry points.
"""

import os

__version__ = "0.1.0"

# The checkout art runs from: its examples/ and its vgg/ folder of weights.
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
