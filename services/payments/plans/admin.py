from django.contrib import admin

from common.admin import money_column

from .models import CreditPack, Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "tier", "price", "interval", "active")
    list_filter = ("active", "tier", "interval")
    search_fields = ("code", "name")
    # The form edits minor units (price_cents, labelled so); "price" shows what that reads as.
    readonly_fields = ("price", "created_at", "updated_at")
    price = money_column("price_cents", "price")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Subscriptions will reference plans; retire a plan with active=False instead.
        return False


@admin.register(CreditPack)
class CreditPackAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "credits", "price", "active")
    list_filter = ("active",)
    search_fields = ("code", "name")
    readonly_fields = ("price", "created_at", "updated_at")
    price = money_column("price_cents", "price")

    def has_delete_permission(self, request, obj=None) -> bool:
        # Payments and refunds reference packs; retire one with active=False instead.
        return False
