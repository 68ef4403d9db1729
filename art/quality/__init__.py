"""Judging a picture: the pyramid yardstick and the seam metrics of a tiled picture."""
