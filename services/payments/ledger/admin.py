"""Read-only admin for the ledger: entries are facts; corrections are new postings."""
from django.contrib import admin

from common.admin import money_column

from .models import LedgerEntry, LedgerTransaction

# Minor units of a currency, or a count of credits: "-$12.34", "500 credits".
ledger_amount = money_column("amount", "amount", currency_of=lambda entry: entry.unit)


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class LedgerEntryInline(ReadOnlyMixin, admin.TabularInline):
    model = LedgerEntry
    fields = ("account", "amount_shown", "created_at")
    readonly_fields = fields
    extra = 0
    amount_shown = ledger_amount


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
    list_display = ("created_at", "account", "amount_shown", "transaction")
    list_filter = ("unit",)
    search_fields = ("account",)
    actions = None
    exclude = ("amount",)
    readonly_fields = ("amount_shown",)
    amount_shown = ledger_amount
