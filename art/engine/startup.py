"""TensorFlow, imported once and quietly, in the graph mode the whole engine is written for."""

import contextlib
import os
import sys

from art.errors import ArtError


@contextlib.contextmanager
def _stderr_silenced():
    """Send the C++ side's stderr to /dev/null: TF's oneDNN and absl start-up
    notices ignore TF_CPP_MIN_LOG_LEVEL. Python exceptions still propagate."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def quiet_tensorflow():
    """Import TensorFlow in graph mode, with oneDNN on and its start-up noise off.

    Environment variables must be set before TF is imported; a user's own
    setting wins. oneDNN is off by default on some CPUs; switched on, one
    evaluation was 1.5x faster on this project's AMD EPYC and 17-27% faster on an
    Intel AVX2 machine (docs/performance.md).
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with _stderr_silenced():
            import tensorflow as tf
    except ImportError:
        raise ArtError("TensorFlow is not installed; run: pip install -e '.[cpu]' "
                       "(or '.[gpu]' on a machine with an NVIDIA GPU)") from None
    tf.get_logger().setLevel("ERROR")
    tf.compat.v1.disable_eager_execution()
    return tf
