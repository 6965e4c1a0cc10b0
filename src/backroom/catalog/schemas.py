"""API shapes of the catalog. Reads are serialised by ``catalog.documents`` (one
hand-tuned path for every product response); the Read models here document them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictStr

from backroom.catalog.models import MAX_PRICE_CENTS
from backroom.pagination import Page
from backroom.schema import NO_NUL, WHOLE, InputModel, OutputModel, Text, omittable

Sku = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", examples=["TSHIRT-RED-M"])]
Slug = Annotated[
    StrictStr,
    Field(
        min_length=1, max_length=200, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", examples=["red-shirt"]
    ),
]
Name = Annotated[Text, Field(min_length=1, max_length=200)]
Description = Annotated[Text, Field(max_length=20_000)]
CategoryDescription = Annotated[Text, Field(max_length=2_000)]
Price = Annotated[int, Field(strict=True, ge=0, le=MAX_PRICE_CENTS), WHOLE]
InitialStock = Annotated[int, Field(strict=True, ge=0, le=1_000_000_000), WHOLE]
AttrKey = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
AttrValue = (
    Annotated[Text, Field(max_length=1_000)]
    | Annotated[int, Field(strict=True, ge=-(2**53), le=2**53), WHOLE]
    # Bounded so PostgreSQL's jsonb (which may hand a float back as an integer)
    # never returns a number outside 64 bits.
    | Annotated[StrictFloat, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
    | StrictBool
)
# Pydantic writes the key rule as patternProperties, which still lets other keys
# through in JSON Schema terms; state it as propertyNames so generated clients agree.
_KEYS = {"propertyNames": {"minLength": 1, "maxLength": 64, "pattern": NO_NUL}}
Attributes = Annotated[dict[AttrKey, AttrValue], Field(max_length=50, json_schema_extra=_KEYS)]
PatchAttributes = Annotated[
    dict[AttrKey, AttrValue | None], Field(max_length=50, json_schema_extra=_KEYS)
]
IdText = Annotated[StrictStr, Field(min_length=1, max_length=64)]

ProductSort = Literal["name", "-name", "price", "-price", "created_at", "-created_at"]


# --- categories -------------------------------------------------------------


class CategoryCreate(InputModel):
    name: Name
    slug: Slug | None = None
    parent_id: IdText | None = None
    description: CategoryDescription = ""


class CategoryReplace(CategoryCreate):
    pass


class CategoryPatch(InputModel):
    """JSON merge patch: absent = unchanged, null = cleared (parent, description)."""

    name: Name = omittable()
    slug: Slug = omittable()
    parent_id: IdText | None = None
    description: CategoryDescription | None = None


class CategoryRead(OutputModel):
    id: uuid.UUID
    name: str
    slug: str
    parent_id: uuid.UUID | None
    description: str


class CategoryPage(Page[CategoryRead]):
    pass


# --- products ---------------------------------------------------------------


class ProductReplace(InputModel):
    """Every writable field; ``slug`` absent keeps the current one (or derives it)."""

    sku: Sku
    name: Name
    price_cents: Price
    slug: Slug | None = None
    description: Description = ""
    category_id: IdText | None = None
    is_active: StrictBool = True
    attributes: Attributes = Field(default_factory=dict)


class ProductCreate(ProductReplace):
    stock: InitialStock = 0


class ProductPatch(InputModel):
    """JSON merge patch (RFC 7396) over the writable fields: absent = unchanged,
    null = cleared (``description``, ``category_id``, ``attributes`` or one attribute)."""

    sku: Sku = omittable()
    name: Name = omittable()
    price_cents: Price = omittable()
    slug: Slug = omittable()
    is_active: StrictBool = omittable()
    description: Description | None = None
    category_id: IdText | None = None
    attributes: PatchAttributes | None = None


class ProductRead(OutputModel):
    id: uuid.UUID
    sku: str
    slug: str
    name: str
    description: str
    price_cents: int
    currency: str
    stock: int
    category_id: uuid.UUID | None
    is_active: bool
    attributes: dict[str, str | int | float | bool]
    created_at: datetime
    updated_at: datetime


class ProductPage(Page[ProductRead]):
    pass
