from setuptools import find_packages, setup

setup(
    name="art",
    version="0.1.0",
    description="Neural style transfer (Gatys et al.) as an explicit TensorFlow 1-style graph, "
                "for print-size pictures",
    packages=find_packages(include=["art", "art.*"]),
    python_requires=">=3.10",
    install_requires=["numpy", "scipy", "pillow", "imageio", "h5py"],
    extras_require={
        # TensorFlow comes as an extra so CPU-only machines get the smaller
        # wheel and GPU machines the CUDA one; both provide `import tensorflow`.
        "cpu": ["tensorflow-cpu>=2.16"],
        "gpu": ["tensorflow[and-cuda]>=2.16"],
        # Tiles on a Dask cluster (--cluster, --workers); nothing else imports it.
        "cluster": ["dask[distributed]>=2024.1"],
        "test": ["pytest", "dask[distributed]>=2024.1"],
    },
)
