"""Catalogue queries: what the pricing page shows and what checkout may sell."""
from __future__ import annotations

from django.db.models import QuerySet

from .models import CreditPack, Plan


def public_plans() -> QuerySet[Plan]:
    return Plan.objects.active().order_by("price_cents", "code")


def public_credit_packs() -> QuerySet[CreditPack]:
    return CreditPack.objects.active().order_by("price_cents", "code")


def purchasable_plan(code: str) -> Plan | None:
    """A plan checkout can sell: active and not free (free needs no payment)."""
    return Plan.objects.active().filter(code=code, price_cents__gt=0).first()


def purchasable_pack(code: str) -> CreditPack | None:
    return CreditPack.objects.active().filter(code=code).first()
