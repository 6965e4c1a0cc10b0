from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import EmailStr, Field, StrictBool, StrictStr

from backroom.pagination import Page
from backroom.schema import InputModel, OutputModel

FullName = Annotated[StrictStr, Field(min_length=1, max_length=200)]
# The policy (length, common list) is checked in the service, where settings are known;
# this bound only stops absurd payloads before hashing.
Password = Annotated[StrictStr, Field(min_length=1, max_length=1024)]
RoleName = Literal["customer", "staff", "admin"]


class UserRead(OutputModel):
    id: uuid.UUID
    email: str
    full_name: str
    role: RoleName
    is_active: bool
    created_at: datetime
    updated_at: datetime


class UserPage(Page[UserRead]):
    pass


class UserSelfUpdate(InputModel):
    full_name: FullName | None = None


class PasswordChange(InputModel):
    current_password: Password
    new_password: Password


class UserCreate(InputModel):
    email: Annotated[EmailStr, Field(max_length=320)]
    password: Password
    full_name: FullName
    role: RoleName = "customer"


class UserAdminUpdate(InputModel):
    full_name: FullName | None = None
    role: RoleName | None = None
    is_active: StrictBool | None = None
