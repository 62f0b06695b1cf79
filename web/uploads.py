"""An edit's multipart form, read within limits: its text fields, 1 to 4 ``image`` files and an optional ``mask``.

The body as a whole is capped before this runs (``PIXY_MAX_UPLOAD_BYTES``, see ``web.body_limit``); here a
form that does not parse is a 400 naming ``body``, and a file or field in the wrong place one naming it.
Nothing is decoded here: ``service.edits.uploads`` checks the files' contents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from core.exceptions import InvalidInput, UnsupportedMediaType

MAX_IMAGES = 4
MAX_FIELDS = 64
MAX_FIELD_BYTES = 64 * 1024  # a text field (the prompt is the longest)
# ``image``, or the openai SDK's list forms: ``image[]`` (its default) and ``image[0]``.
IMAGE_FIELD = re.compile(r"^image(\[\d{0,2}\])?$")
FILE_FIELDS = ("mask", "markup")


@dataclass(frozen=True)
class EditForm:
    fields: dict[str, str]
    images: list[tuple[str, bytes]]  # (field name as sent, content)
    mask: tuple[str, bytes] | None


def _refuse(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", field=field)


async def read_edit_form(request: Request) -> EditForm:
    """Parse the form; every file is read whole (the body cap bounds them all together)."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        raise UnsupportedMediaType("the body must be multipart/form-data")
    try:
        form = await request.form(
            max_files=MAX_IMAGES + len(FILE_FIELDS), max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES
        )
    except (HTTPException, MultiPartException) as exc:  # Starlette's 400 for a form it cannot parse
        reason = getattr(exc, "detail", None) or getattr(exc, "message", "") or "cannot be parsed"
        raise _refuse("body", f"malformed multipart form ({reason})") from None
    except (ValueError, UnicodeDecodeError, AssertionError, KeyError):
        raise _refuse("body", "malformed multipart form") from None
    fields: dict[str, str] = {}
    images: list[bytes] = []
    mask = None
    try:
        for name, value in form.multi_items():
            is_file = isinstance(value, UploadFile)
            if IMAGE_FIELD.match(name) or name in FILE_FIELDS:
                if not is_file:
                    raise _refuse("image" if name.startswith("image") else name, "must be a file")
                data = await value.read()
                if name == "mask":
                    mask = (name, data)
                elif name != "markup":  # gpt-image's drawing hints: nothing here can follow them
                    images.append(data)
            elif is_file:
                raise _refuse(name, "must be a text field, not a file")
            elif name in fields:
                raise _refuse(name, "given more than once")
            else:
                fields[name] = value
    finally:
        await form.close()
    if not images:
        raise _refuse("image", "required: one to four image files")
    if len(images) > MAX_IMAGES:
        raise _refuse("image", f"at most {MAX_IMAGES} images")
    named = [("image" if len(images) == 1 else f"image[{i}]", data) for i, data in enumerate(images)]
    return EditForm(fields=fields, images=named, mask=mask)
