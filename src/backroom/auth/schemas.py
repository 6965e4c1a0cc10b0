from __future__ import annotations

from typing import Annotated, Literal

from pydantic import EmailStr, Field, StrictStr

from backroom.schema import InputModel, OutputModel, Text
from backroom.users.schemas import FullName, NewPassword, Password


class RegisterRequest(InputModel):
    email: Annotated[EmailStr, Field(max_length=320)]
    password: NewPassword
    full_name: FullName


class TokenRequest(InputModel):
    email: Annotated[Text, Field(min_length=1, max_length=320)]
    password: Password


class RefreshRequest(InputModel):
    refresh_token: Annotated[StrictStr, Field(min_length=1, max_length=256)]


class TokenPair(OutputModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int
    refresh_token: str
