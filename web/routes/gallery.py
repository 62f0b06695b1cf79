"""The gallery page: plain HTML and JavaScript over the JSON API."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["gallery"])
