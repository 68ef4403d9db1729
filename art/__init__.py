"""art: neural style transfer (Gatys et al.) as an explicit TensorFlow 1-style graph.

Importing the package does no work: TensorFlow is imported only by the modules
that build graphs, and graph mode is switched on by the entry points.
"""

__version__ = "0.1.0"
