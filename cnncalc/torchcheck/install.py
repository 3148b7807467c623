"""What to install, said so that pip does not replace a CPU build of torch with a CUDA one.

Stage: I/O edge (advice in error messages). PyTorch's CPU wheels live on its own index
(https://pytorch.org/get-started/locally/): `pip install torch` from PyPI resolves the CUDA
build on Linux (about 3 GB with its libraries), and `pip install torchvision` next to a CPU torch
pulls a CUDA torch of the version it was built for. torchvision 0.N pairs with torch 2.(N-15)
(0.15 with 2.0, ..., 0.29 with 2.14: the table in torchvision's README).
"""

from __future__ import annotations

from typing import Any

CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def torch_command() -> str:
    """How to install PyTorch: the CPU build (small) or PyPI's default (CUDA on Linux)."""
    return (f"pip install torch --index-url {CPU_INDEX} (the CPU build, about 200 MB), or pip install "
            "'cnncalc[torch]' (PyPI's default: on Linux the CUDA build, about 3 GB)")


def torchvision_command(torch: Any) -> str:
    """How to install the torchvision that matches this torch, from the index it came from."""
    version = str(getattr(torch, "__version__", ""))
    base, _, local = version.partition("+")
    parts = base.split(".")
    pin = ""
    if len(parts) >= 2 and parts[0] == "2" and parts[1].isdigit():
        pin = f"==0.{int(parts[1]) + 15}.*"
    cpu = local == "cpu" or getattr(getattr(torch, "version", None), "cuda", "x") is None
    index = f" --index-url {CPU_INDEX}" if cpu else ""
    return f"pip install 'torchvision{pin}'{index}"
