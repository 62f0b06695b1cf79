"""Model ids as users type them: a hub id, a folder's name, or ``tiny``; and OpenAI's names for the default."""

from __future__ import annotations

from pathlib import Path

# Unchanged OpenAI clients send these: they mean this server's default model.
OPENAI_NAMES = frozenset({"dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini"})


def model_id(source: str) -> str:
    """A folder (absolute, or ./relative) is known by its name; a hub id or ``tiny`` by itself."""
    path = Path(source)
    if path.is_absolute() or source.startswith(("./", "../")):
        return path.name
    return source
