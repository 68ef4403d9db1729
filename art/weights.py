"""VGG19 weights: every accepted file format, read into one canonical form.

Loading is separate from building: the graph builder sees only `VGGWeights`
and never asks which file the numbers came from.
"""

import dataclasses

import numpy as np

from art import layers


@dataclasses.dataclass(frozen=True)
class VGGWeights:
    """The canonical in-memory form of VGG19's convolutional weights.

    Attributes:
      kernels: conv name (`art.layers.CONV_LAYERS`) -> (kernel HWIO float32, bias float32).
      mean_pixel: float32[3], the mean subtracted from 0-255 input, in `channel_order`.
      channel_order: 'RGB' or 'BGR', the order of the network's input channels.
      source: where the numbers came from, for reports.
    """
    kernels: dict
    mean_pixel: np.ndarray
    channel_order: str
    source: str = ""

    def in_order(self, order):
        """The same network expecting `order` input: conv1_1's input channels and the mean flipped."""
        if order == self.channel_order:
            return self
        kernels = dict(self.kernels)
        k, b = kernels["conv1_1"]
        kernels["conv1_1"] = (np.ascontiguousarray(k[:, :, ::-1, :]), b)
        return dataclasses.replace(self, kernels=kernels, mean_pixel=self.mean_pixel[::-1].copy(),
                                   channel_order=order)
