"""The centre's public keys, and users' own keys for sealed results."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from qharbor import errors
from qharbor.api import errors as api_errors
from qharbor.api.deps import CentreDep, Reader, Submitter
from qharbor.api.schemas.keys import KeyList, KeyPublic, UserKeyCreate
from qharbor.security.audit import KEY_REGISTER, KEY_RETIRE

router = APIRouter(prefix="/v1", tags=["keys"])

#: What the routes of the caller's own key may answer besides success.
_OWN_KEY = api_errors.responses(*api_errors.AUTHENTICATED, 404, 413)


@router.get("/keys", response_model=KeyList)
def list_keys(centre: CentreDep) -> dict[str, Any]:
    """The centre's ML-DSA-65 signing and ML-KEM-768 sealing public keys; needs no token.

    Retired keys stay listed, so results signed before a rotation still verify.
    """
    return {
        "keys": [k.to_json() for k in centre.keys.published()],
        "signing_key_id": centre.keys.signer.key_id,
        "sealing_key_id": centre.keys.sealing_key_id,
    }


@router.get("/me/keys", response_model=KeyPublic, responses=_OWN_KEY)
def get_my_key(centre: CentreDep, principal: Reader) -> dict[str, Any]:
    """Your registered ML-KEM public key; 404 when you have none."""
    key = centre.keys.user_key(principal.user_id)
    if key is None:
        raise errors.NotFound("you have registered no key; POST /v1/me/keys registers one")
    return key.to_json()


@router.post("/me/keys", status_code=201, response_model=KeyPublic, responses=_OWN_KEY)
def register_my_key(body: UserKeyCreate, centre: CentreDep, principal: Submitter) -> dict[str, Any]:
    """Register your ML-KEM-768 public key; results of jobs you submit from now on are
    sealed to it. A previous key is retired (results already sealed to it stay so).

    Needs the ``submit`` scope. The change is in the audit log and in ``GET /v1/me``.
    """
    key = centre.keys.register_user_key(principal.user_id, body.public_key)
    centre.audit.key_changed(KEY_REGISTER, principal, key.id)
    return key.to_json()


@router.delete("/me/keys", status_code=204, responses=_OWN_KEY)
def retire_my_key(centre: CentreDep, principal: Submitter) -> Response:
    """Retire your key: results of jobs you submit from now on are not sealed.

    Needs the ``submit`` scope. The change is in the audit log and in ``GET /v1/me``.
    """
    key = centre.keys.user_key(principal.user_id)
    if key is None or not centre.keys.retire_user_key(principal.user_id):
        raise errors.NotFound("you have registered no key")
    centre.audit.key_changed(KEY_RETIRE, principal, key.id)
    return Response(status_code=204)
