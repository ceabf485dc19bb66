"""Starting a checkout: validate what is bought, record it, let the provider host the payment."""
from __future__ import annotations

from atelier_django.exceptions import ApiError
from django.conf import settings
from django.db import transaction
from rest_framework import status

from customers.models import Customer
from plans.services import purchasable_pack, purchasable_plan

from .models import LIVE_STATUSES, CheckoutSession, Subscription
from .providers import get_provider
from .providers.base import ProviderError


def start_checkout(*, user_id: str, plan_code: str | None = None, pack_code: str | None = None) -> CheckoutSession:
    customer = Customer.objects.filter(user_id=user_id, deleted_at__isnull=True).first()
    if customer is None:
        raise ApiError(code="customer_not_found", detail="your billing account is still being set up; try again in a few seconds",
                       status_code=status.HTTP_404_NOT_FOUND)
    plan = pack = None
    if plan_code is not None:
        plan = purchasable_plan(plan_code)
        if plan is None:
            raise ApiError(code="validation_error", fields={"plan": ["there is no plan by that name on sale"]})
        if Subscription.objects.filter(customer=customer, status__in=LIVE_STATUSES).exists():
            # A hint for the client; the partial unique index is what actually holds the line.
            raise ApiError(code="subscription_exists", detail="you already have a subscription; cancel it first",
                           status_code=status.HTTP_409_CONFLICT)
    else:
        pack = purchasable_pack(pack_code or "")
        if pack is None:
            raise ApiError(code="validation_error", fields={"credit_pack": ["there is no credit pack by that name on sale"]})
    item = plan or pack
    provider = get_provider()
    success = f"{settings.PUBLIC_URL}/billing?checkout=success"
    cancel = f"{settings.PUBLIC_URL}/billing?checkout=canceled"
    try:
        with transaction.atomic():
            checkout = CheckoutSession.objects.create(
                customer=customer, provider=provider.name, plan=plan, credit_pack=pack,
                amount_cents=item.price_cents, currency=item.currency)
            started = provider.create_checkout(checkout, success_url=success, cancel_url=cancel)
            checkout.provider_session_id, checkout.url = started.provider_session_id, started.url
            checkout.save(update_fields=["provider_session_id", "url"])
    except ProviderError as exc:
        raise ApiError(code="provider_unavailable", detail=f"the payment provider failed: {exc}",
                       status_code=status.HTTP_503_SERVICE_UNAVAILABLE if exc.retryable else status.HTTP_502_BAD_GATEWAY) from exc
    return checkout
