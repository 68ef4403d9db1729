"""Score pictures with the quality yardstick: the loss at every scale of a pyramid.

    python scripts/score.py out.png --content photo.jpg --style painting.jpg
    python scripts/score.py ours.png theirs.png --content photo.jpg --style painting.jpg \\
        --reference classic.png --report score.json

Any picture can be scored (this tool's, the classic method's, another tool's): the
weights are fixed, whatever it was painted with (see art/yardstick.py). Lower is
better at every scale. `detail` is each picture's fine detail relative to the
--reference picture's (the first picture's without one), resized to its size.
"""


from art import cli, fetch, files, images
from art.errors import ArtError


def parse_args(argv):
    parser = cli.Parser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("pictures", nargs="+", metavar="PICTURE", help="pictures to score")
    parser.add_argument("--content", required=True, metavar="PATH", help="the photo painted")
    parser.add_argument("--style", required=True, nargs="+", metavar="PATH",
                        help="the style images painted with")
    parser.add_argument("--style-blend", nargs="+", type=float, metavar="W",
                        help="their blend weights, as paint.py's")
    parser.add_argument("--reference", metavar="PATH",
                        help="a picture to compare detail with (e.g. the classic method's); "
                             "scored too")
    parser.add_argument("--weights", metavar="PATH", help="VGG19 weights (default vgg/vgg19.npz)")
    parser.add_argument("--report", metavar="PATH", help="write the scores as JSON here")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    paths = ([args.reference] if args.reference else []) + list(args.pictures)
    if args.style_blend is not None and len(args.style_blend) != len(args.style):
        raise ArtError("--style-blend has %d weights for %d style images; give one per style"
                       % (len(args.style_blend), len(args.style)))
    if args.report:
        images.check_output_path(args.report, paths + [args.content] + args.style,
                                 extensions=(".json",))
    pictures = [images.load_image(path) for path in paths]
    content = images.load_image(args.content)
    styles = [images.load_image(path) for path in args.style]
    weights_path = fetch.ensure_weights(args.weights, say=lambda line: print(line, flush=True))
    cli.quiet_tensorflow()
    from art import seams, weights as weights_mod, yardstick
    weights = weights_mod.load(weights_path)
    reference = seams.detail(pictures[0])
    scored = {}
    for path, picture in zip(paths, pictures):
        shape = picture.shape[:2]
        with yardstick.Yardstick(weights, content, styles, shape, args.style_blend) as stick:
            score = stick.score(picture)
        detail = seams.detail(images.resize(pictures[0], shape)) if shape != pictures[0].shape[:2] \
            else reference
        scored[path] = dict(score.to_dict(), detail_ratio=score.detail / detail)
        print("%s  %dx%d  sum %.4g  %s  fine %.4g  detail %.3f" % (
            path, shape[1], shape[0], score.sum,
            "  ".join("L%d %.4g" % (s["k"], s["total"]) for s in score.scales),
            score.fine, score.detail / detail), flush=True)
    if args.report:
        files.write_json(args.report, dict(content=args.content, style=args.style,
                                           reference=args.reference, scores=scored))
    return 0
