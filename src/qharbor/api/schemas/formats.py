"""Program formats."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
)


class FormatPublic(BaseModel):
    name: str
    title: str
    versions: list[str]
    description: str
    encoding: Literal["text", "base64"]


class FormatList(BaseModel):
    formats: list[FormatPublic]
    limits: dict[str, float]
