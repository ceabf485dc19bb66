from django.contrib import admin

from .models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("email", "user_id", "created_at", "deleted_at")
    list_filter = (("deleted_at", admin.EmptyFieldListFilter),)
    search_fields = ("email", "user_id")
    date_hierarchy = "created_at"
    # Customers mirror auth users: they come from events, not from this form.
    readonly_fields = ("user_id", "email", "created_at", "deleted_at")

    def has_add_permission(self, request) -> bool:
        return False
