"""Request bodies of the orders API (pydantic): types are checked before any service runs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from microfactory.catalog.bridge import MAX_LINE_QTY
from microfactory.orders import iso_codes
from microfactory.orders.model import Address, NewOrder, NewOrderLine


def _checked(value: str | None, problem: str | None) -> str | None:
    if problem is not None:
        raise ValueError(problem)
    return value


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field("", max_length=200)
    line1: str = Field("", max_length=300)
    line2: str = Field("", max_length=300)
    city: str = Field("", max_length=120)
    postcode: str = Field("", max_length=20)
    region: str = Field("", max_length=120)
    country: str = Field("", max_length=2, description="ISO 3166-1 alpha-2")
    phone: str = Field("", max_length=40)
    company: str = Field("", max_length=200)
    # strict: `false` or "52.5" must not quietly become a coordinate the router trusts
    latitude: float | None = Field(None, ge=-90, le=90, strict=True)
    longitude: float | None = Field(None, ge=-180, le=180, strict=True)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        return _checked(value, iso_codes.country_problem(value)) or ""


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: str = Field(..., min_length=1, max_length=120)
    qty: int = Field(1, ge=1, le=MAX_LINE_QTY, strict=True)  # `true`, 2.0 or "3" are not quantities
    options: dict[str, Any] = Field(default_factory=dict)
    external_id: str | None = Field(None, max_length=120)
    # the column is NUMERIC(14, 4): refuse what it cannot hold instead of failing or rounding
    unit_price: Decimal | None = Field(None, max_digits=14, decimal_places=4)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field("api", min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    external_id: str = Field(..., min_length=1, max_length=120)
    ship_to: AddressIn = Field(default_factory=AddressIn)
    lines: list[OrderLineIn] = Field(..., min_length=1, max_length=500)
    name: str | None = Field(None, max_length=120)
    email: str | None = Field(None, max_length=320)
    currency: str | None = Field(None, min_length=3, max_length=3)
    allow_split: bool = Field(False, strict=True)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return _checked(value, iso_codes.currency_problem(value or ""))

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _checked(value, iso_codes.email_problem(value or ""))

    def to_new_order(self) -> NewOrder:
        return NewOrder(
            channel=self.channel,
            external_id=self.external_id,
            ship_to=Address(**self.ship_to.model_dump()),
            lines=tuple(
                NewOrderLine(
                    qty=line.qty,
                    product=line.product,
                    options=line.options,
                    external_id=line.external_id,
                    unit_price=line.unit_price,
                )
                for line in self.lines
            ),
            name=self.name,
            email=self.email,
            currency=self.currency,
            allow_split=self.allow_split,
        )


class LineCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: str | None = Field(None, min_length=1, max_length=120)
    options: dict[str, Any] | None = None
    qty: int | None = Field(None, ge=1, le=MAX_LINE_QTY, strict=True)


class Cancellation(BaseModel):
    reason: str = Field("cancelled through the API", max_length=500)
