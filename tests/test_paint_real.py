"""One end-to-end run on the real weights and real images."""

import numpy as np
import pytest

from art.config import PaintConfig
from art.files import images, weights
from conftest import paint_one, shared_image


@pytest.mark.slow
def test_real_painting_takes_the_style_and_keeps_the_content(tf1, real_weights_path):
    from art.engine import untiled
    w = weights.load(real_weights_path)
    content = images.load_image(shared_image("tubingen.jpg"))
    content = images.fit(content, 64)
    style = images.load_image(shared_image("starry_night.jpg"))
    style = images.fit(style, 64)
    config = PaintConfig(iterations=20, print_every=0)
    result = paint_one(w, content, [style], config)
    assert result.status == "done" and result.iterations == 20

    content_t = untiled.content_targets(w, content, config)
    style_t = untiled.style_targets(w, [style], None, config)
    noise = np.random.default_rng(0).uniform(0, 255, content.shape).astype(np.float32)
    start, end, from_noise = untiled.evaluate(w, [content, result.image, noise], config,
                                              content_t, style_t)
    # The style loss falls by a large factor...
    assert end["style"] < start["style"] / 10
    # ...while the picture stays the photo: closer to it than the noise start
    # in the content layer, and its luminance still follows the photo's.
    assert end["content"] < from_noise["content"]
    correlation = np.corrcoef(result.image.mean(axis=2).ravel(), content.mean(axis=2).ravel())[0, 1]
    assert correlation > 0.5
    # The engine's own report agrees with an independent evaluation of its output.
    assert abs(result.history[-1]["style"] - end["style"]) < 0.05 * end["style"]
