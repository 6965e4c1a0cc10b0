"""Sign-in, token rotation with reuse detection, and sign-out. Functions commit once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.auth import passwords, tokens
from backroom.auth.models import RefreshToken
from backroom.auth.schemas import TokenPair
from backroom.config import Settings
from backroom.db import begin_write, utcnow
from backroom.errors import Unauthorized
from backroom.ratelimit import RateLimiter
from backroom.users import service as users
from backroom.users.models import User

_BAD_LOGIN = "Incorrect email or password."
_BAD_REFRESH = "The refresh token is invalid, expired or already used."


async def login(
    *,
    session: AsyncSession,
    settings: Settings,
    limiter: RateLimiter,
    email: str,
    password: str,
    address: str,
) -> TokenPair:
    """Check the credentials and open a new token family. Unknown email and wrong
    password take the same time and give the same 401. Commits."""
    account = users.normalize_email(email)
    for item, key in ((limiter.login_account, account), (limiter.login_address, address)):
        decision = await limiter.check(item, "login", key)
        if not decision.allowed:
            raise decision.error("Too many failed sign-in attempts; try again later.")
    user = await users.get_by_email(session=session, email=account)
    # Verify against a dummy hash for unknown emails so timing reveals nothing.
    ok = await passwords.verify_password(
        user.password_hash if user else passwords.DUMMY_HASH, password
    )
    if user is None or not ok or not user.is_active:
        await limiter.hit(limiter.login_account, "login", account)
        await limiter.hit(limiter.login_address, "login", address)
        raise Unauthorized(_BAD_LOGIN)
    await limiter.clear(limiter.login_account, "login", account)
    await begin_write(session)
    pair = await _issue(session, settings, user.id, uuid.uuid4())
    await session.commit()
    return pair


async def refresh(*, session: AsyncSession, settings: Settings, token: str) -> TokenPair:
    """Spend a refresh token for a new pair in the same family. Presenting a spent
    token means it was stolen or replayed: the whole family is revoked. Commits."""
    digest = tokens.hash_refresh_token(token)
    now = utcnow()
    await begin_write(session)
    spent = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.token_hash == digest,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(RefreshToken.user_id, RefreshToken.family_id)
    )
    row = spent.one_or_none()
    if row is None:
        await _revoke_family_of(session, digest)
        await session.commit()
        raise Unauthorized(_BAD_REFRESH)
    user_id, family_id = row
    user = await session.get(User, user_id)
    if user is None or not user.is_active or user.erased_at is not None:
        await session.rollback()
        raise Unauthorized(_BAD_REFRESH)
    pair = await _issue(session, settings, user_id, family_id)
    await session.commit()
    return pair


async def logout(*, session: AsyncSession, token: str) -> None:
    """Revoke the family of ``token``. Unknown tokens are ignored (nothing to reveal). Commits."""
    await begin_write(session)
    await _revoke_family_of(session, tokens.hash_refresh_token(token))
    await session.commit()


async def _revoke_family_of(session: AsyncSession, digest: str) -> None:
    family = await session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == digest)
    )
    if family is not None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


async def _issue(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID, family_id: uuid.UUID
) -> TokenPair:
    now = utcnow()
    refresh_token = tokens.new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id,
            token_hash=tokens.hash_refresh_token(refresh_token),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    access = tokens.issue_access(
        settings.signing_key, user_id, settings.access_token_ttl_seconds, now
    )
    return TokenPair(
        access_token=access,
        expires_in=settings.access_token_ttl_seconds,
        refresh_token=refresh_token,
    )
