from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import EmailStr, Field, StrictBool, StrictStr

from backroom.pagination import Page
from backroom.schema import InputModel, OutputModel, Text, omittable

FullName = Annotated[Text, Field(min_length=1, max_length=200)]
# The policy (length, common list) is checked in the service, where settings are known;
# this bound only stops absurd payloads before hashing.
Password = Annotated[StrictStr, Field(min_length=1, max_length=1024)]
# A password being set: at most 128 (the contract); the configured minimum is
# enforced by the service and written into the OpenAPI schema by backroom.openapi.
NewPassword = Annotated[StrictStr, Field(min_length=1, max_length=128)]
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
    full_name: FullName = omittable()


class PasswordChange(InputModel):
    current_password: Password
    new_password: NewPassword


class UserCreate(InputModel):
    email: Annotated[EmailStr, Field(max_length=320)]
    password: NewPassword
    full_name: FullName
    role: RoleName = "customer"


class UserAdminUpdate(InputModel):
    full_name: FullName = omittable()
    role: RoleName = omittable()
    is_active: StrictBool = omittable()
