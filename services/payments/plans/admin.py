from django.contrib import admin

from .models import CreditPack, Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "tier", "price_cents", "currency", "interval", "active")
    list_filter = ("active", "tier", "interval")
    search_fields = ("code", "name")
    readonly_fields = ("created_at", "updated_at")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Subscriptions will reference plans; retire a plan with active=False instead.
        return False


@admin.register(CreditPack)
class CreditPackAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "credits", "price_cents", "currency", "active")
    list_filter = ("active",)
    search_fields = ("code", "name")
    readonly_fields = ("created_at", "updated_at")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Payments and refunds reference packs; retire one with active=False instead.
        return False
