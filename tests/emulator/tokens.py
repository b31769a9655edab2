"""Access tokens: JWTs signed by the emulator, carrying tenant, object id and audience."""
from __future__ import annotations

import secrets
import time
import uuid

import jwt

_KEY = secrets.token_bytes(32)
LIFETIME = 3599


def issue(*, tenant_id: str, object_id: str, app_id: str, audience: str, issuer_base: str) -> str:
    now = int(time.time())
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + LIFETIME,
        "appid": app_id,
        "appidacr": "1",
        "idtyp": "app",
        "oid": object_id,
        "sub": object_id,
        "tid": tenant_id,
        "uti": uuid.uuid4().hex,
        "ver": "1.0",
        "xms_emulator": issuer_base,
    }
    return jwt.encode(claims, _KEY, algorithm="HS256", headers={"kid": "emulator"})


def verify(token: str) -> dict | None:
    """Claims of a token this emulator issued and that has not expired, else None."""
    try:
        return jwt.decode(token, _KEY, algorithms=["HS256"], options={"verify_aud": False})
    except jwt.PyJWTError:
        return None


def unverified_claims(token: str) -> dict | None:
    try:
        return jwt.decode(token, options={"verify_signature": False, "verify_exp": False, "verify_aud": False})
    except jwt.PyJWTError:
        return None
