"""The arithmetic of the network's convolutions: float32, or bfloat16 where the CPU
does it natively.

bfloat16 keeps float32's exponent and 8 bits of mantissa. Measured (docs/performance.md):
1.9x faster per evaluation on an EPYC with AVX512_BF16, 3.7x on a Xeon
with AMX; emulated on CPUs without, 4-7x slower on an AVX2 Intel and 15x on an AVX2 EPYC.
The losses and Gram matrices stay float32 either way (`art.engine.vgg.build` casts each
layer's response back).
"""

from art.errors import ArtError

CHOICES = ("auto", "float32", "bfloat16")
# CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic that oneDNN uses.
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags():
    """The CPU's feature flags, or an empty set where /proc/cpuinfo cannot say."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bfloat16():
    """The flag that shows native bfloat16 arithmetic on this CPU, or None."""
    flags = cpu_flags()
    return next((flag for flag in BF16_FLAGS if flag in flags), None)


def choose(requested):
    """(precision, why): `requested` itself, or for 'auto' what this machine does fastest."""
    if requested not in CHOICES:
        raise ArtError("unknown --precision %r; valid: %s" % (requested, ", ".join(CHOICES)))
    if requested != "auto":
        return requested, "asked for"
    flag = native_bfloat16()
    if flag is None:
        return "float32", "auto: this CPU has no native bfloat16"
    return "bfloat16", "auto: this CPU has %s" % flag


def of(config):
    """The precision a `PaintConfig` paints in: its `precision`, 'auto' resolved."""
    return choose(config.precision)[0]
