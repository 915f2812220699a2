"""ML-KEM keys: the centre's and the users'."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from qharbor.api.schemas.common import RequestBody


class KeyPublic(BaseModel):
    """A public key the centre publishes, or one a user registered."""

    id: str = Field(description="Derived from the public key: algorithm and SHA-256 prefix.")
    purpose: Literal["signing", "sealing", "user-sealing"]
    algorithm: Literal["ML-DSA-65", "ML-KEM-768"]
    public_key: str = Field(description="Base64 of the raw public key.")
    created_at: str
    retired_at: str | None


class KeyList(BaseModel):
    keys: list[KeyPublic]
    signing_key_id: str = Field(description="The key that signs new results.")
    sealing_key_id: str = Field(description="The key to seal new submissions to.")


class UserKeyCreate(RequestBody):
    """Your ML-KEM-768 public key: results of your jobs are sealed to it."""

    model_config = ConfigDict(extra="forbid")

    algorithm: Literal["ML-KEM-768"] = "ML-KEM-768"
    public_key: str = Field(min_length=1, max_length=4096, description="Base64, raw encoding.")
