"""Staff views of billing. State changes go through the domain (webhooks, tasks, the
refund action), so these are read-only apart from the refund action."""
from django.contrib import admin, messages

from common.admin import money_column
from ledger.admin import ReadOnlyMixin

from .models import CheckoutSession, Payment, Refund, Subscription, WebhookEvent
from .providers.base import ProviderError
from .refunds import RefundError, issue_refund


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "customer", "plan", "status", "current_period_end", "provider", "created_at")
    list_filter = ("status", "provider", "plan")
    search_fields = ("id", "customer__user_id", "customer__email", "provider_subscription_id")


class RefundInline(ReadOnlyMixin, admin.TabularInline):
    model = Refund
    fields = ("id", "amount", "credits_revoked", "reason", "provider_refund_id", "created_at")
    readonly_fields = fields
    extra = 0
    amount = money_column("amount_cents", "amount", currency_of=lambda refund: refund.payment.currency)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("paid_at", "customer", "description", "amount", "refunded", "status")
    list_filter = ("status", "provider", "currency")
    exclude = ("amount_cents", "refunded_cents")
    readonly_fields = ("amount", "refunded")
    amount = money_column("amount_cents", "amount")
    refunded = money_column("refunded_cents", "refunded")
    search_fields = ("id", "customer__user_id", "customer__email", "provider_payment_id")
    date_hierarchy = "paid_at"
    inlines = (RefundInline,)
    actions = ("refund_in_full",)

    @admin.action(description="Refund what is left of the selected payments", permissions=("refund",))
    def refund_in_full(self, request, queryset) -> None:
        for payment in queryset:
            try:
                issue_refund(payment.pk, reason=f"admin refund by {request.user.get_username()}")
            except (RefundError, ProviderError) as exc:
                self.message_user(request, f"{payment}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{payment}: refunded", messages.SUCCESS)

    def has_refund_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and (
            request.user.is_superuser or request.user.has_perm("billing.add_refund"))


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "customer", "plan", "credit_pack", "amount", "status", "provider")
    list_filter = ("status", "provider")
    exclude = ("amount_cents",)
    readonly_fields = ("amount",)
    amount = money_column("amount_cents", "amount")
    search_fields = ("id", "provider_session_id", "customer__user_id")


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("received_at", "provider", "type", "event_id", "outcome")
    list_filter = ("provider", "type")
    search_fields = ("event_id",)
