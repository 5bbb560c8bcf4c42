"""Still images in, `(H, W, 3) uint8` RGB arrays out, with a clear error for bad files."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from pigweight.domain import Image
from pigweight.errors import ImageTooLarge, InvalidImage
from pigweight.media.image_header import header_size

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


def load_image(
    source: bytes | Path | str, max_megapixels: float = 60.0, name: str | None = None
) -> Image:
    """Decode a photo to RGB; raises InvalidImage with a message a user can act on.

    `name` labels the messages (an upload's file name); paths use their own name.
    """
    if name is None:
        name = "upload" if isinstance(source, bytes) else Path(source).name
    data = source if isinstance(source, bytes) else _read(Path(source))
    if not data:
        raise InvalidImage(f"{name}: the file is empty (0 bytes)")
    # From the header bytes alone: a PNG or JPEG that claims too many pixels costs nothing.
    claimed = header_size(data)
    if claimed is not None:
        _check_pixels(claimed, max_megapixels, name)
    with warnings.catch_warnings():
        # We apply our own pixel limit below; PIL's bomb warning would only duplicate it.
        warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
        try:
            pil = PILImage.open(io.BytesIO(data))
        except PILImage.DecompressionBombError as exc:
            raise ImageTooLarge(
                f"{name}: the image has too many pixels ({exc}); "
                f"the limit is {max_megapixels:g} (MAX_IMAGE_MEGAPIXELS)"
            ) from None
        except UnidentifiedImageError:
            raise InvalidImage(
                f"{name}: not an image PigWeight can read (use JPEG, PNG, BMP, TIFF or WebP)"
            ) from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise InvalidImage(f"{name}: the image is damaged or truncated ({exc})") from None
        _check_pixels(pil.size, max_megapixels, name)
        try:
            if pil.format == "PNG":
                # Pillow decodes a PNG without its end chunk, or with a chunk whose checksum
                # is wrong, as if nothing were amiss: check every chunk before decoding.
                PILImage.open(io.BytesIO(data)).verify()
            pil.load()
            rgb = _to_rgb(ImageOps.exif_transpose(pil))
        except (OSError, SyntaxError, ValueError) as exc:
            raise InvalidImage(f"{name}: the image is damaged or truncated ({exc})") from None
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def _check_pixels(size: tuple[int, int], max_megapixels: float, name: str) -> None:
    width, height = size
    megapixels = width * height / 1e6
    if megapixels > max_megapixels:
        raise ImageTooLarge(
            f"{name}: {width}x{height} is {megapixels:.1f} megapixels; "
            f"the limit is {max_megapixels:g} (MAX_IMAGE_MEGAPIXELS)"
        )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidImage(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InvalidImage(f"{path}: is a folder, not an image") from None
    except OSError as exc:
        raise InvalidImage(f"{path}: cannot be read ({exc.strerror})") from None


def _to_rgb(pil: PILImage.Image) -> PILImage.Image:
    if pil.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale (some IR cameras): scale to 8 bits by the image's own range.
        arr = np.asarray(pil, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) * (255.0 / max(hi - lo, 1.0))
        pil = PILImage.fromarray(arr.astype(np.uint8), mode="L")
    if pil.mode in ("RGBA", "LA", "PA") or (pil.mode == "P" and "transparency" in pil.info):
        background = PILImage.new("RGB", pil.size, (0, 0, 0))
        rgba = pil.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return pil.convert("RGB")


def encode_jpeg(image: Image, quality: int = 85) -> bytes:
    """JPEG bytes of an RGB array."""
    buf = io.BytesIO()
    PILImage.fromarray(image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def encode_png(image: Image) -> bytes:
    """PNG bytes of an RGB array."""
    buf = io.BytesIO()
    PILImage.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


INFRARED_SPREAD = 3.0  # mean channel spread (0-255) under which a picture is grey


def is_infrared(image: Image) -> bool:
    """A grey picture (a camera's night, infrared mode): its channels barely differ."""
    small = image[:: max(1, image.shape[0] // 90), :: max(1, image.shape[1] // 160)]
    spread = small.max(axis=2).astype(np.int16) - small.min(axis=2).astype(np.int16)
    return float(spread.mean()) < INFRARED_SPREAD
