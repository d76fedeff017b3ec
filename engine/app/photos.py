"""What a photo says of itself (EXIF: time taken, GPS position, device), and its thumbnail for the dossier.

Pillow reads both (a dependency for exactly this: EXIF's tags and rationals, and downscaling JPEG/PNG, are
not worth writing by hand). Reading never fails a command: a photo without EXIF, or with broken EXIF, simply
says nothing of itself. The original bytes are never changed: a thumbnail is a new, small image.
"""
from __future__ import annotations

import base64
import io

_DATETIME_ORIGINAL, _DATETIME, _MAKE, _MODEL, _GPS_IFD, _EXIF_IFD = 0x9003, 0x0132, 0x010F, 0x0110, 0x8825, 0x8769
# Photos larger than this many pixels are not decoded for a thumbnail (a decompression bomb's guard).
MAX_PIXELS = 80_000_000


def exif_of(path: str) -> dict:
    """{'taken_at': 'YYYY-MM-DDTHH:MM:SS' (the camera's local time), 'gps': [lat, lon], 'device': 'Make Model'},
    each only when the photo says it; {} for a photo without EXIF."""
    try:
        from PIL import Image
        with Image.open(path) as image:
            exif = image.getexif()
            found: dict = {}
            taken = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
            if isinstance(taken, str) and len(taken) >= 19:
                date, time = taken[:10].replace(":", "-"), taken[11:19]
                found["taken_at"] = f"{date}T{time}"
            device = " ".join(str(exif.get(tag)).strip("\x00 ") for tag in (_MAKE, _MODEL) if exif.get(tag))
            if device:
                found["device"] = device[:200]
            gps = exif.get_ifd(_GPS_IFD)
            position = _position(gps)
            if position:
                found["gps"] = position
            return found
    except Exception:  # noqa: BLE001 - a photo that says nothing of itself is still evidence
        return {}


def _position(gps) -> list[float] | None:
    try:
        lat, lat_ref, lon, lon_ref = gps.get(2), gps.get(1), gps.get(4), gps.get(3)
        if not (lat and lon):
            return None
        value = [_degrees(lat) * (-1 if lat_ref in ("S", b"S") else 1),
                 _degrees(lon) * (-1 if lon_ref in ("W", b"W") else 1)]
        return [round(v, 6) for v in value]
    except Exception:  # noqa: BLE001
        return None


def _degrees(parts) -> float:
    d, m, s = (float(p) for p in parts)
    return d + m / 60 + s / 3600


def thumbnail_data_uri(path: str, *, size: int = 320) -> str | None:
    """A JPEG thumbnail (at most `size` pixels a side) as a data: URI for the dossier; None if not decodable."""
    small = thumbnail_jpeg(path, size=size)
    return None if small is None else "data:image/jpeg;base64," + base64.b64encode(small).decode("ascii")


def thumbnail_jpeg(path: str, *, size: int = 320) -> bytes | None:
    """A JPEG thumbnail (at most `size` pixels a side) of the photo at `path`, a new image (the file is only
    read); None if it cannot be decoded (HEIC without a decoder, a broken file, a decompression bomb)."""
    try:
        from PIL import Image, ImageOps
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                return None
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale
            small = ImageOps.exif_transpose(image).convert("RGB")
            small.thumbnail((size, size))
            out = io.BytesIO()
            small.save(out, "JPEG", quality=80)
        return out.getvalue()
    except Exception:  # noqa: BLE001
        return None
