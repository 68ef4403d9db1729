"""Score pictures with the quality yardstick: the loss at every scale of a pyramid.

    python scripts/score.py out.png --content photo.jpg --style painting.jpg
    python scripts/score.py ours.png theirs.png --content photo.jpg --style painting.jpg \\
        --reference classic.png --report score.json

Any picture can be scored (this tool's, the classic method's, another tool's): the
weights are fixed, whatever it was painted with (see art/quality/yardstick.py). Lower is
better at every scale. `detail` is each picture's fine detail relative to the
--reference picture's (the first picture's without one); detail depends on the
size, so it is compared only between pictures of one size. The second line of
each picture is its figures at 100%, against the painting at its own size:
`native` (its brushwork's distance from the painting's, lower is better),
`detail/painting` (its sharpness over the painting's) and `mesh` (a regular
pattern's peak: the shared paintings score 3.8-5.2, a 2-px grid 15-36). A picture of another
shape than the photo is scored against the photo's centre cropped to its shape,
as paint.py paints an exact --size WxH.
"""


from art.commands import cli
from art.config import check_style_blend
from art.engine import startup
from art.errors import ArtError
from art.files import atomic, fetch, images, weights as weights_mod
from art.quality import seams


def parse_args(argv):
    parser = cli.Parser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("pictures", nargs="+", metavar="PICTURE", help="pictures to score")
    parser.add_argument("--content", required=True, metavar="PATH", help="the photo painted")
    # One path per --style (repeat it for several), so that pictures may follow it:
    # with nargs='+' it would take them as styles.
    parser.add_argument("--style", required=True, action="append", metavar="PATH",
                        help="a style image painted with; repeat for several")
    parser.add_argument("--style-blend", nargs="+", type=float, metavar="W",
                        help="their blend weights, as paint.py's")
    parser.add_argument("--reference", metavar="PATH",
                        help="a picture to compare detail with (e.g. the classic method's); "
                             "scored too")
    parser.add_argument("--weights", metavar="PATH", help="VGG19 weights (default vgg/vgg19.npz)")
    parser.add_argument("--report", metavar="PATH", help="write the scores as JSON here")
    return parser.parse_args(argv)


def size_text(shape):
    return "%dx%d" % (shape[1], shape[0])


def same_aspect(a, b, tolerance=0.01):
    """True when shapes `a` and `b` (height, width) have one aspect ratio, within the
    rounding of a resize to whole pixels."""
    return abs(a[1] * b[0] / (a[0] * b[1]) - 1) <= tolerance


def main(argv=None):
    args = parse_args(argv)
    paths = ([args.reference] if args.reference else []) + list(args.pictures)
    if args.style_blend is not None:
        check_style_blend(args.style_blend, len(args.style))
    if args.report:
        images.check_output_path(args.report, paths + [args.content] + args.style,
                                 extensions=(".json",))
    pictures = [images.load_image(path) for path in paths]
    content = images.load_image(args.content)
    styles = [images.load_image(path) for path in args.style]
    first = pictures[0].shape[:2]
    if args.reference:
        for path, picture in zip(paths[1:], pictures[1:]):
            if picture.shape[:2] != first:
                raise ArtError("--reference %s is %s and %s is %s: detail is compared between "
                               "pictures of one size; resize one, or score without --reference"
                               % (args.reference, size_text(first), path,
                                  size_text(picture.shape[:2])))
    elif any(picture.shape[:2] != first for picture in pictures[1:]):
        print("note: detail is relative to %s, for the pictures of its size (%s) only"
              % (paths[0], size_text(first)), flush=True)
    for path, picture in zip(paths, pictures):
        if not same_aspect(picture.shape[:2], content.shape[:2]):
            print("note: %s (%s) has another shape than the photo (%s): scored against the "
                  "photo's centre cropped to its shape, as paint.py paints --size %s"
                  % (path, size_text(picture.shape[:2]), size_text(content.shape[:2]),
                     size_text(picture.shape[:2])), flush=True)
    weights_path = fetch.ensure_weights(args.weights, say=lambda line: print(line, flush=True))
    startup.quiet_tensorflow()
    from art.quality import yardstick   # imports TensorFlow: after quiet_tensorflow
    weights = weights_mod.load(weights_path)
    reference = seams.detail(pictures[0])
    scored = {}
    for path, picture in zip(paths, pictures):
        shape = picture.shape[:2]
        # Never stretched: the photo's centre at the picture's shape (a photo of the
        # picture's shape goes in as it is, resized once per scale by the yardstick).
        photo = content if same_aspect(shape, content.shape[:2]) else images.cover(content, shape)
        with yardstick.Yardstick(weights, photo, styles, shape, args.style_blend) as stick:
            score = stick.score(picture)
        ratio = score.detail / reference if shape == first else None
        scored[path] = dict(score.to_dict(), detail_ratio=ratio)
        print("%s  %s  sum %.4g  %s  fine %.4g  detail %s" % (
            path, size_text(shape), score.sum,
            "  ".join("L%d %.4g" % (s["k"], s["total"]) for s in score.scales),
            score.fine, "-" if ratio is None else "%.3f" % ratio), flush=True)
        print("%s  at 100%%: native %s  detail/painting %s  mesh %.1f at (%.3f, %.3f) cycles/px"
              % (" " * len(path), "-" if score.native is None else "%.4g" % score.native,
                 "-" if score.detail_ratio is None else "%.3f" % score.detail_ratio,
                 score.mesh, score.mesh_at[0], score.mesh_at[1]), flush=True)
    if args.report:
        atomic.write_json(args.report, dict(content=args.content, style=args.style,
                                           reference=args.reference, scores=scored))
    return 0
