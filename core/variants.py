"""A derived image: the stored PNG in another format or at a smaller width. The original never changes."""

from __future__ import annotations

from dataclasses import dataclass

MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class VariantSpec:
    """What a client asked for: a format and a width, None keeping the original's."""

    fmt: str = "png"
    width: int | None = None

    def fit(self, original_width: int | None) -> VariantSpec | None:
        """The variant to make of an image this wide (never wider than it), or None: the original itself."""
        width = self.width
        if original_width is not None:
            width = min(width or original_width, original_width)
        if self.fmt == "png" and (width is None or width == original_width):
            return None
        return VariantSpec(self.fmt, width)

    @property
    def key(self) -> str:
        """How the store names it beside its image, e.g. ``256.webp``."""
        return f"{self.width or 'full'}.{self.fmt}"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.fmt]
