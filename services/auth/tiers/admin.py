from django.contrib import admin

from .models import Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """What payments told us; read-only (payments' admin is where subscriptions change)."""

    list_display = ("subscription_id", "user_id", "plan", "tier", "current_period_end", "cancel_at", "updated_at")
    search_fields = ("user_id", "subscription_id", "plan")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
