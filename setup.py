from setuptools import find_packages, setup

setup(
    name="art",
    version="0.1.0",
    description="Neural style transfer (Gatys et al.) as an explicit TensorFlow 1-style graph, "
                "for print-size pictures",
    packages=find_packages(include=["art", "art.*"]),
    python_requires=">=3.10",
    # Open lower bounds, so that art installs beside other packages (Pillow 9.1
    # brought Image.Resampling, which art uses). No upper bounds: no break is known
    # that the code has not been fixed for. The versions the tests last passed
    # with are pinned in constraints.txt, which both README commands use.
    install_requires=["numpy>=1.23", "scipy>=1.10", "pillow>=9.1", "h5py>=3.8"],
    extras_require={
        # TensorFlow comes as an extra so CPU-only machines get the smaller
        # wheel and GPU machines the CUDA one; both provide `import tensorflow`.
        "cpu": ["tensorflow-cpu>=2.16"],
        "gpu": ["tensorflow[and-cuda]>=2.16"],
        # Tiles on a Dask cluster (--cluster, --workers); nothing else imports it.
        "cluster": ["dask[distributed]>=2024.1"],
        # --animate run.mp4 / .webm: imageio's ffmpeg plugin, whose wheel brings the
        # ffmpeg binary (Pillow writes images and GIFs; nothing else needs imageio).
        "video": ["imageio>=2.31", "imageio-ffmpeg>=0.5"],
        # ruff is the linter .ci/run runs; its rules are in ruff.toml. pypng and
        # tifffile are independent decoders of the 16-bit PNG and TIFF art writes by
        # hand (Pillow reads them only at 8 bits).
        "test": ["pytest>=7", "ruff>=0.5", "dask[distributed]>=2024.1", "imageio>=2.31",
                 "imageio-ffmpeg>=0.5", "pypng>=0.20220715", "tifffile>=2023.1"],
    },
    entry_points={"console_scripts": [
        "art-paint=art.commands:paint",
        "art-reconstruct=art.commands:reconstruct",
        "art-fetch-vgg=art.commands:fetch_vgg",
        "art-score=art.commands:score",
    ]},
)
