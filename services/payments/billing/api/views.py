"""The caller's billing routes (Bearer token) and the providers' webhook routes (signed)."""
from __future__ import annotations

import re

from atelier_django.exceptions import ApiError
from atelier_django.permissions import ACCOUNT, Public, scope_required
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger.models import LedgerEntry
from ledger.services import account_credit_account, cash_account, credit_balance, credits_account

from .. import metrics, plan_changes, subscriptions
from ..checkout import start_checkout
from ..models import Payment
from ..providers import get_provider
from ..providers.base import WebhookError
from ..webhooks import NotYet, apply_event
from .serializers import (CheckoutRequest, CheckoutResponse, EmptyRequest, InvoiceSerializer, LedgerEntrySerializer,
                          PageQuery, PlanChangeQuote, PlanChangeRequest, SubscriptionSerializer)

MAX_WEBHOOK_BYTES = 256 * 1024
# Finding 4: an API key reads billing only with billing:read, and never moves money.
BILLING_READ = (scope_required("billing:read"),)
OWN_SESSION_ONLY = (scope_required(ACCOUNT),)
PAGE_PARAMS = [OpenApiParameter("page", int), OpenApiParameter("page_size", int)]


def _page_schema(name: str, item, **extra):
    return inline_serializer(name, {
        "items": item(many=True), "page": serializers.IntegerField(), "page_size": serializers.IntegerField(),
        "total": serializers.IntegerField(), "has_more": serializers.BooleanField(), **extra})


def _page(request: Request, queryset: QuerySet, serializer_class) -> dict:
    query = PageQuery(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    page, size = query.validated_data["page"], query.validated_data["page_size"]
    total = queryset.count()
    items = queryset[(page - 1) * size: page * size]
    return {"items": serializer_class(items, many=True).data, "page": page, "page_size": size, "total": total,
            "has_more": page * size < total}


class CheckoutView(APIView):
    permission_classes = OWN_SESSION_ONLY

    @extend_schema(request=CheckoutRequest, responses={201: CheckoutResponse})
    def post(self, request: Request) -> Response:
        body = CheckoutRequest(data=request.data)
        body.is_valid(raise_exception=True)
        kind = "plan" if body.validated_data.get("plan") is not None else "credits"
        try:
            checkout = start_checkout(user_id=request.user.user_id, plan_code=body.validated_data.get("plan"),
                                      pack_code=body.validated_data.get("credit_pack"))
        except Exception:
            metrics.count_checkout(kind, "refused")
            raise
        metrics.count_checkout(kind, "started")
        return Response({"checkout_id": str(checkout.id), "checkout_url": checkout.url}, status=status.HTTP_201_CREATED)


class SubscriptionView(APIView):
    permission_classes = BILLING_READ

    @extend_schema(responses=inline_serializer("SubscriptionEnvelope", {
        "subscription": SubscriptionSerializer(allow_null=True)}))
    def get(self, request: Request) -> Response:
        sub = subscriptions.current_subscription(request.user.user_id)
        return Response({"subscription": SubscriptionSerializer(sub).data if sub else None})


class CancelSubscriptionView(APIView):
    permission_classes = OWN_SESSION_ONLY

    @extend_schema(request=EmptyRequest, responses=inline_serializer("CanceledSubscription", {
        "subscription": SubscriptionSerializer()}))
    def post(self, request: Request) -> Response:
        EmptyRequest(data=request.data if request.data else {}).is_valid(raise_exception=True)
        sub = subscriptions.cancel(request.user.user_id)
        return Response({"subscription": SubscriptionSerializer(sub).data})


class ResumeSubscriptionView(APIView):
    permission_classes = OWN_SESSION_ONLY

    @extend_schema(request=EmptyRequest, responses=inline_serializer("ResumedSubscription", {
        "subscription": SubscriptionSerializer()}), summary="Undo a cancellation before the period ends")
    def post(self, request: Request) -> Response:
        EmptyRequest(data=request.data if request.data else {}).is_valid(raise_exception=True)
        sub = subscriptions.resume(request.user.user_id)
        return Response({"subscription": SubscriptionSerializer(sub).data})


class PlanChangePreviewView(APIView):
    permission_classes = BILLING_READ

    @extend_schema(parameters=[OpenApiParameter("plan", str, required=True)], responses=PlanChangeQuote,
                   summary="What switching to another plan costs now (prorated)")
    def get(self, request: Request) -> Response:
        query = PlanChangeRequest(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        quote = plan_changes.preview_change(request.user.user_id, query.validated_data["plan"])
        return Response(PlanChangeQuote(quote).data)


class ChangePlanView(APIView):
    permission_classes = OWN_SESSION_ONLY

    @extend_schema(request=PlanChangeRequest, responses=inline_serializer("ChangedSubscription", {
        "subscription": SubscriptionSerializer(), "invoice": InvoiceSerializer()}),
        summary="Switch plan now, prorated; the invoice is what was charged for it")
    def post(self, request: Request) -> Response:
        body = PlanChangeRequest(data=request.data)
        body.is_valid(raise_exception=True)
        sub, payment = plan_changes.change_plan(request.user.user_id, body.validated_data["plan"])
        return Response({"subscription": SubscriptionSerializer(sub).data, "invoice": InvoiceSerializer(payment).data})


class InvoiceListView(APIView):
    permission_classes = BILLING_READ

    @extend_schema(parameters=PAGE_PARAMS, responses=_page_schema("InvoicePage", InvoiceSerializer))
    def get(self, request: Request) -> Response:
        payments = Payment.objects.filter(customer__user_id=request.user.user_id).order_by("-paid_at", "id")
        return Response(_page(request, payments, InvoiceSerializer))


class LedgerView(APIView):
    """Only the caller's own accounts (cash, credits, account credit from a downgrade); the
    counterpart entries (revenue) are not theirs."""

    permission_classes = BILLING_READ

    @extend_schema(parameters=PAGE_PARAMS, responses=_page_schema(
        "LedgerPage", LedgerEntrySerializer, credit_balance=serializers.IntegerField()))
    def get(self, request: Request) -> Response:
        user_id = request.user.user_id
        entries = (LedgerEntry.objects.select_related("transaction")
                   .filter(account__in=[cash_account(user_id), credits_account(user_id), account_credit_account(user_id)]).order_by("-id"))
        body = _page(request, entries, LedgerEntrySerializer)
        body["credit_balance"] = credit_balance(user_id)
        return Response(body)


class WebhookView(APIView):
    """No user token: the provider proves itself by signing the exact body."""

    authentication_classes = ()
    permission_classes = (Public,)
    provider_name = ""

    @extend_schema(request=None, responses=inline_serializer("WebhookAck", {
        "received": serializers.BooleanField(), "event_id": serializers.CharField(), "outcome": serializers.CharField()}))
    def post(self, request: Request) -> Response:
        length = request.META.get("CONTENT_LENGTH") or "0"
        # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses (a 500).
        if not re.fullmatch(r"[0-9]{1,12}", length) or int(length) > MAX_WEBHOOK_BYTES:
            metrics.count_webhook(self.provider_name, "invalid")
            raise ApiError(code="payload_too_large", detail="webhook body too large", status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        body = request.body  # the raw bytes: the signature covers them exactly
        provider = get_provider(self.provider_name)
        try:
            event = provider.parse_webhook(body, request.headers)
        except WebhookError as exc:
            metrics.count_webhook(provider.name, metrics.webhook_refusal(exc.code))
            raise ApiError(code=exc.code, detail=exc.message) from exc
        try:
            outcome = apply_event(provider.name, event)
        except NotYet as exc:
            metrics.count_webhook(provider.name, "not_ready")
            raise ApiError(code="not_ready", detail=str(exc), status_code=status.HTTP_409_CONFLICT) from exc
        metrics.count_webhook(provider.name, metrics.webhook_outcome(outcome))
        return Response({"received": True, "event_id": event.id, "outcome": outcome})
