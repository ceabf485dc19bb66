from atelier_django.serializers import StrictSerializer
from rest_framework import serializers

from ledger.models import LedgerEntry

from ..models import Payment, Subscription


class CheckoutRequest(StrictSerializer):
    plan = serializers.CharField(required=False, max_length=50)
    credit_pack = serializers.CharField(required=False, max_length=50)

    def validate(self, attrs):
        if ("plan" in attrs) == ("credit_pack" in attrs):
            raise serializers.ValidationError({"non_field_errors": ["send exactly one of plan or credit_pack"]})
        return attrs


class CheckoutResponse(serializers.Serializer):
    checkout_id = serializers.UUIDField()
    checkout_url = serializers.URLField()


class PlanChangeRequest(StrictSerializer):
    """``plan``: the code of the plan to switch to (GET change-preview's query, POST change's body)."""

    plan = serializers.CharField(max_length=50)


class PlanChangeQuote(serializers.Serializer):
    """Minor units of ``currency``. ``amount_due_cents`` is charged now; ``account_credit_added_cents``
    (a downgrade) is kept as credit the next invoices spend first."""

    plan = serializers.CharField()
    tier = serializers.CharField()
    current_plan = serializers.CharField()
    currency = serializers.CharField()
    unused_credit_cents = serializers.IntegerField()
    remaining_charge_cents = serializers.IntegerField()
    account_credit_applied_cents = serializers.IntegerField()
    amount_due_cents = serializers.IntegerField()
    account_credit_added_cents = serializers.IntegerField()
    next_price_cents = serializers.IntegerField()
    next_billing_at = serializers.DateTimeField()
    proration_date = serializers.DateTimeField()


class EmptyRequest(StrictSerializer):
    """Bodies that must carry nothing (cancel): a stray field is a client bug worth reporting."""


class PageQuery(StrictSerializer):
    page = serializers.IntegerField(required=False, min_value=1, max_value=100000, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)


class SubscriptionSerializer(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan.code")
    tier = serializers.CharField(source="plan.tier")
    cancel_at_period_end = serializers.SerializerMethodField()

    class Meta:
        model = Subscription
        fields = ("id", "plan", "tier", "status", "current_period_start", "current_period_end",
                  "cancel_at_period_end", "canceled_at", "created_at")
        read_only_fields = fields

    def get_cancel_at_period_end(self, sub) -> bool:
        return sub.status == "canceled"


class InvoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ("id", "description", "amount_cents", "refunded_cents", "currency", "credits", "status",
                  "period_start", "period_end", "paid_at")
        read_only_fields = fields


class LedgerEntrySerializer(serializers.ModelSerializer):
    transaction_id = serializers.UUIDField(source="transaction.id")
    kind = serializers.CharField(source="transaction.kind")
    memo = serializers.CharField(source="transaction.memo")

    class Meta:
        model = LedgerEntry
        fields = ("id", "transaction_id", "kind", "account", "amount", "unit", "memo", "created_at")
        read_only_fields = fields
