"""Users: sign-up, profile, password, and what admins may change. Functions commit once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backroom.auth import passwords
from backroom.auth.models import RefreshToken
from backroom.auth.tokens import truncate_ms
from backroom.db import Prepared, begin_write, utcnow
from backroom.errors import Conflict, NotFound, Unprocessable
from backroom.users.models import Role, User
from backroom.users.schemas import UserRead


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_password_policy(password: str, min_length: int, field: str = "password") -> None:
    problem = passwords.policy_violation(password, min_length)
    if problem:
        raise Unprocessable.field(field, problem)


async def create(
    *,
    session: AsyncSession,
    email: str,
    password: str,
    full_name: str,
    role: Role,
    min_password_length: int,
) -> User:
    """Create a user; 409 if the email is taken (case-insensitively). Commits."""
    check_password_policy(password, min_password_length)
    password_hash = await passwords.hash_password(password)
    await begin_write(session)
    user = User(
        email=normalize_email(email),
        password_hash=password_hash,
        full_name=full_name,
        role=role.value,
        is_active=True,
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict("A user with this email already exists.") from None
    return user


async def get(*, session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None or user.erased_at is not None:
        raise NotFound("No such user.")
    return user


# Built once: constructing a SELECT costs more CPU than running it.
_READ = Prepared(select(
    User.id, User.email, User.full_name, User.role,
    User.is_active, User.created_at, User.updated_at,
).where(User.id == bindparam("user_id"), User.erased_at.is_(None)))  # fmt: skip


async def read(*, engine: AsyncEngine, user_id: uuid.UUID) -> UserRead:
    """The public fields of a user in one autocommit SELECT (the hot ``/users/me`` path)."""
    row = await _READ.one(engine, {"user_id": user_id})
    if row is None:
        raise NotFound("No such user.")
    return UserRead.model_validate(dict(row))


async def get_by_email(*, session: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(User.email == normalize_email(email), User.erased_at.is_(None))
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_(
    *, session: AsyncSession, limit: int, after: Sequence[Any] | None
) -> tuple[list[User], list[Any] | None]:
    """A page ordered by (created_at, id); returns the keyset of the next page, if any."""
    stmt = select(User).where(User.erased_at.is_(None))
    if after is not None:
        stmt = stmt.where(tuple_(User.created_at, User.id) > tuple_(*after))
    stmt = stmt.order_by(User.created_at, User.id).limit(limit + 1)
    users = list((await session.execute(stmt)).scalars())
    if len(users) <= limit:
        return users, None
    last = users[limit - 1]
    return users[:limit], [last.created_at.isoformat(), str(last.id)]


async def update_profile(*, session: AsyncSession, user: User, changes: dict[str, Any]) -> User:
    """Apply already-validated changes (full_name, role, is_active). Commits."""
    await begin_write(session)
    await session.refresh(user)
    for key, value in changes.items():
        setattr(user, key, value)
    if changes.get("is_active") is False:
        # Also voids access tokens for good: reactivation must not revive them.
        user.tokens_valid_after = truncate_ms(utcnow())
        await _revoke_all_refresh_tokens(session, user.id)
    user.updated_at = utcnow()
    await session.commit()
    return user


async def admin_update(
    *, session: AsyncSession, user: User, changes: dict[str, Any], actor_id: uuid.UUID
) -> User:
    """An admin changes another user. Admins can't demote or deactivate themselves (409)."""
    if user.id == actor_id and (
        changes.get("is_active") is False or changes.get("role", Role.ADMIN) != Role.ADMIN
    ):
        raise Conflict("You cannot demote or deactivate your own account.")
    return await update_profile(session=session, user=user, changes=changes)


async def change_password(
    *, session: AsyncSession, user: User, current: str, new: str, min_password_length: int
) -> None:
    """Verify the current password, set the new one, void every token issued before. Commits."""
    if not await passwords.verify_password(user.password_hash, current):
        raise Unprocessable.field("current_password", "is incorrect")
    check_password_policy(new, min_password_length, field="new_password")
    new_hash = await passwords.hash_password(new)
    await begin_write(session)
    await session.refresh(user)
    user.password_hash = new_hash
    user.tokens_valid_after = truncate_ms(utcnow())
    user.updated_at = utcnow()
    await _revoke_all_refresh_tokens(session, user.id)
    await session.commit()


async def erase(*, session: AsyncSession, user: User, actor_id: uuid.UUID) -> None:
    """Erase personal data but keep the row, so orders still point at a customer. Commits."""
    if user.id == actor_id:
        raise Conflict("You cannot delete your own account.")
    await begin_write(session)
    await session.refresh(user)
    now = utcnow()
    user.email = f"erased-{user.id.hex}@invalid"
    user.full_name = ""
    user.password_hash = "!"  # noqa: S105 - matches no password: argon2 cannot parse it  # nosec B105
    user.is_active = False
    user.erased_at = now
    user.tokens_valid_after = truncate_ms(now)
    user.updated_at = now
    await _revoke_all_refresh_tokens(session, user.id)
    await session.commit()


async def _revoke_all_refresh_tokens(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
