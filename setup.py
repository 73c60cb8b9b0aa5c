"""lt_det: long-tailed recognition tricks as first-class detectron2 components."""
from setuptools import find_packages, setup

setup(
    name="lt_det",
    version="0.1.0",
    description="Long-tailed detection and classification tricks for detectron2",
    packages=find_packages(include=["lt_det", "lt_det.*"]),
    python_requires=">=3.10",
    # Runtime requirements are pinned in constraints.txt and installed by
    # tools/setup_env.sh (detectron2 is not on PyPI, so it cannot be listed here).
    install_requires=["numpy", "pycocotools", "matplotlib"],
)
