"""Read-only admin for the ledger: entries are facts; corrections are new postings."""
from django.contrib import admin

from .models import LedgerEntry, LedgerTransaction


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class LedgerEntryInline(ReadOnlyMixin, admin.TabularInline):
    model = LedgerEntry
    fields = ("account", "amount", "unit", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "kind", "reference", "user_id", "memo")
    list_filter = ("kind",)
    search_fields = ("reference", "user_id", "memo")
    date_hierarchy = "created_at"
    inlines = (LedgerEntryInline,)
    actions = None


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "account", "amount", "unit", "transaction")
    list_filter = ("unit",)
    search_fields = ("account",)
    actions = None
