"""Where the shipped pig model and the shared data live."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = PACKAGE / "models" / "pig_yolox_nano.onnx"
# ../shared beside the checkout: real photos and starting weights, never in the package
SHARED_DATA = Path(os.environ.get("PIGWEIGHT_SHARED", PACKAGE.parent.parent / "shared"))
