"""What each layer sees: per-layer reconstructions (Gatys et al., Fig. 1) and their contact sheet.

A reconstruction is an ordinary painting (`art.engine.render`, in one piece) with other layer
dicts: a style reconstruction keeps only the style term, on a subset of the
style layers with equal weights; a content reconstruction keeps only the
content term, on one layer. Both start from white noise (fixed seed) and run
L-BFGS, so what comes out is what those layers alone retain of the image.

The panel planning and the sheet drawing are pure Python, numpy and Pillow;
only `reconstruct` touches TensorFlow (through `art.engine.render`, imported late).
"""

import dataclasses

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from art.config import PaintConfig, parse_layer_weights
from art.errors import ArtError
from art.files.images import to_uint8
from art.plan import layers, levels

KINDS = ("style", "content")

# Gatys et al., Fig. 1: style from conv1_1; +conv2_1; ... +conv5_1, content
# from one layer each (conv*_2 in the CVPR 2016 version of the figure).
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
CONTENT_LAYERS = ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")


def _single(names):
    return [(name,) for name in names]


def _cumulative(names):
    return [tuple(names[:i + 1]) for i in range(len(names))]


# Preset name -> kind -> list of layer subsets, one panel each.
PRESETS = {
    "paper": {"style": _cumulative(STYLE_LAYERS), "content": _single(CONTENT_LAYERS)},
    "single": {"style": _single(STYLE_LAYERS), "content": _single(CONTENT_LAYERS)},
    "cumulative": {"style": _cumulative(STYLE_LAYERS), "content": _cumulative(CONTENT_LAYERS)},
}

LAYERS_HELP = (
    "panels: a preset (%s) or explicit subsets, one per panel, separated by ';', layers within "
    "a subset by ',', e.g. \"conv1_1;conv1_1,conv2_1\". 'paper' is Gatys et al.'s figure: style "
    "from the cumulative subsets conv1_1; +conv2_1; +conv3_1; +conv4_1; +conv5_1 and content from "
    "conv1_2, conv2_2, conv3_2, conv4_2, conv5_2 singly; 'single' gives style from each of "
    "conv1_1..conv5_1 alone; 'cumulative' makes content cumulative too. Explicit subsets are used "
    "for every row asked for (style and/or content). Layers of a subset weigh equally unless "
    "given as name=weight (relative weights, normalised to sum 1)" % ", ".join(PRESETS))


@dataclasses.dataclass(frozen=True)
class Panel:
    """One reconstruction: which term ('style' or 'content') from which layers (name -> weight)."""
    kind: str
    layers: tuple     # ((name, weight), ...) in network order; weights sum to 1

    @property
    def names(self):
        return [name for name, _ in self.layers]

    @property
    def weights(self):
        return dict(self.layers)

    def _items(self):
        equal = len({w for _, w in self.layers}) == 1
        return [name if equal else "%s=%.3g" % (name, w) for name, w in self.layers]

    @property
    def name(self):
        """File-name stem, e.g. 'style_conv1_1+conv2_1'."""
        return "%s_%s" % (self.kind, "+".join(self._items()))

    @property
    def label(self):
        """Caption under the panel, e.g. 'conv1_1 + conv2_1'."""
        return " + ".join(self._items())


def make_panel(kind, weights):
    """A `Panel` from a {layer: weight} dict: network order, weights normalised to sum 1.

    Raises:
      ArtError: unknown kind, or a weight that is not > 0.
    """
    if kind not in KINDS:
        raise ArtError("unknown reconstruction %r; valid: %s" % (kind, ", ".join(KINDS)))
    for name, w in weights.items():
        if not w > 0:
            raise ArtError("layer %s has weight %g; weights within a panel must be > 0" % (name, w))
    total = float(sum(weights.values()))
    return Panel(kind, tuple((name, weights[name] / total)
                             for name in sorted(weights, key=layers.NAMES.index)))


def parse_panels(text, kind):
    """The panels of one row from a --layers value (a preset name or 'a;a,b;...').

    Raises:
      ArtError: unknown layer (the message lists the valid ones), bad weight,
        empty subset, or the same panel twice.
    """
    text = str(text).strip()
    if text in PRESETS:
        subsets = [{name: 1.0 for name in subset} for subset in PRESETS[text][kind]]
    elif not text or text.replace(";", "").strip() == "":
        raise ArtError("--layers %r is empty; give a preset (%s) or subsets like "
                       "\"conv1_1;conv1_1,conv2_1\"" % (text, ", ".join(PRESETS)))
    else:
        subsets = []
        for part in filter(str.strip, text.split(";")):
            try:
                subsets.append(parse_layer_weights(part))
            except ArtError as e:
                if any(c in text for c in ";,="):
                    raise
                raise ArtError("--layers %r is neither a preset (%s) nor a layer list: %s"
                               % (text, ", ".join(PRESETS), e)) from None
    panels = [make_panel(kind, subset) for subset in subsets]
    seen = set()
    for panel in panels:
        if panel.name in seen:
            raise ArtError("--layers gives the panel %s twice" % panel.label)
        seen.add(panel.name)
    return panels


def panel_config(panel, iterations=200, seed=0, pooling="avg", optimizer="lbfgs",
                 padding=PaintConfig.padding):
    """The `PaintConfig` of one reconstruction.

    tv_weight is 0: the paper's figure has no smoothness prior, and one would
    blur exactly what the figure is meant to show, what the layers alone keep.
    """
    style = panel.kind == "style"
    return PaintConfig(
        iterations=iterations, seed=seed, pooling=pooling, padding=padding, optimizer=optimizer,
        init="noise",
        tv_weight=0.0, print_every=0,
        # The other term has no layers: it is not computed, and the graph
        # stops at the deepest layer of this panel.
        content_layers={} if style else panel.weights,
        style_layers=panel.weights if style else {},
        content_weight=1.0, style_weight=1.0)


def reconstruct(weights, image, panel, config, callback=None):
    """Reconstruct `image` (HxWx3 float32 0-255, at the output size) from `panel`'s layers.

    Args:
      weights: `art.files.weights.VGGWeights`.
      image: the style image of a style panel, the content photo of a content panel.
      panel: a `Panel`.
      config: from `panel_config(panel, ...)`.
      callback: handed to `art.engine.render.render`: a `Progress` after every iteration.

    Returns:
      `art.engine.render.Result` of the run (Ctrl-C ends it early with status 'interrupted').
    """
    from art.engine import render   # TensorFlow: after the caller's quiet_tensorflow
    # The image is passed as content (the output takes its shape) and as the
    # style; the term the panel does not use has no layers, so the image is
    # never run for it. The white-noise start is drawn from config.seed.
    return render.render(render.Request(weights, image, [image],
                                        levels.one_piece(image.shape[:2], config)),
                         render.Hooks(progress=callback))



# ---------------------------------------------------------------- drawing

def font(size):
    """Pillow's built-in font at `size` px (scalable in Pillow >= 10.1; no font files)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:      # an older Pillow: a fixed bitmap font
        return ImageFont.load_default()


def _fit(word, fnt, width):
    """`word`, cut short with '...' if it is wider than `width` px on its own."""
    if fnt.getlength(word) <= width:
        return word
    while len(word) > 1 and fnt.getlength(word + "...") > width:
        word = word[:-1]
    return word + "..."


def wrap(text, fnt, width):
    """Lines of `text` (breaking at spaces, keeping explicit newlines) at most `width` px wide."""
    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            word = _fit(word, fnt, width)
            candidate = word if not line else line + " " + word
            if line and fnt.getlength(candidate) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def draw_sheet(rows, font_size=None, gap=10, background=255, ink=40):
    """Draw rows of labelled pictures as one image.

    Every cell has the width of the widest picture; each row the height of its
    tallest picture plus its longest caption. Pictures are centred in their cells,
    captions centred under them.

    Args:
      rows: list of rows, each a list of (picture HxWx3 0-255, caption) cells.
      font_size: caption size in px (default: from the cell width, 8 to 16).
      gap: margin around and between cells, in px.

    Returns:
      uint8 array (height, width, 3).
    """
    rows = [row for row in rows if row]
    if not rows:
        raise ValueError("draw_sheet needs at least one cell")
    cell_w = max(pic.shape[1] for row in rows for pic, _ in row)
    if font_size is None:
        font_size = max(8, min(16, cell_w // 14))
    fnt = font(font_size)
    columns = max(len(row) for row in rows)
    line_h = int(round(font_size * 1.25))
    layout = []
    for row in rows:
        captions = [wrap(caption, fnt, cell_w) for _, caption in row]
        pic_h = max(pic.shape[0] for pic, _ in row)
        layout.append((row, captions, pic_h, max(len(c) for c in captions) * line_h))
    width = gap + columns * (cell_w + gap)
    height = gap + sum(pic_h + gap // 2 + text_h + gap for _, _, pic_h, text_h in layout)
    sheet = Image.new("RGB", (width, height), (background,) * 3)
    draw = ImageDraw.Draw(sheet)
    y = gap
    for row, captions, pic_h, text_h in layout:
        for col, ((pic, _), lines) in enumerate(zip(row, captions)):
            x = gap + col * (cell_w + gap)
            ph, pw = pic.shape[:2]
            sheet.paste(Image.fromarray(to_uint8(pic)), (x + (cell_w - pw) // 2, y + (pic_h - ph) // 2))
            for i, line in enumerate(lines):
                draw.text((x + cell_w / 2, y + pic_h + gap // 2 + i * line_h), line, font=fnt,
                          fill=(ink,) * 3, anchor="ma")
        y += pic_h + gap // 2 + text_h + gap
    return np.asarray(sheet)


def placeholder(shape, value=230):
    """A flat grey picture standing for a panel not painted yet (animation frames)."""
    return np.full(tuple(shape[:2]) + (3,), value, np.float32)
