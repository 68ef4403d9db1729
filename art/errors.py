"""The one exception type the scripts turn into a single line and a non-zero exit."""


class ArtError(Exception):
    """A problem with the user's input or environment, stated in one line.

    The message names the bad value (a file, a flag, a layer) and what would be
    valid. Scripts print it as ``error: <message>`` and exit with status 2;
    anything else escaping is a bug in `art`.
    """


class Stopped(ArtError):
    """A render cannot go on here and now (its Dask scheduler was lost, say), but what
    it has done is sound: the caller keeps its state so that it can be resumed."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP (what `docker stop`, a job scheduler or a closed terminal sends),
    raised where Ctrl-C's KeyboardInterrupt would be, so that the run ends as it does on
    Ctrl-C: checkpoint, the picture as it is, one line. The exit status is 128 + signum."""

    NAMES = {1: "hung up (SIGHUP)", 15: "terminated (SIGTERM)"}

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum

    def __str__(self):
        return self.NAMES.get(self.signum, "stopped by signal %d" % self.signum)


class CheckpointFailed(Stopped):
    """A checkpoint could not be written (a full disk): the render stops where it is, so
    that what it has painted is not carried on unsaved; its picture is kept as it is."""
