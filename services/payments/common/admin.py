"""What every page of payments' admin shares: staff log in with their auth account (the
login form says so), and amounts are shown as money."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from .money import format_money
from .staff_backend import AuthThrottled, AuthUnavailable


class StaffLoginForm(AdminAuthenticationForm):
    """The admin's login, with auth's account: an e-mail address, and a clear message when
    auth cannot be asked (rather than "wrong password")."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"] = forms.EmailField(label="E-mail address", max_length=254,
                                                   widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}))

    def clean(self):
        try:
            return super().clean()
        except AuthThrottled:
            raise forms.ValidationError("Too many failed logins for this account from here; try again in a few minutes.",
                                        code="rate_limited") from None
        except AuthUnavailable:
            raise forms.ValidationError(
                "Logging in is not possible right now: the account service did not answer. Try again in a minute.",
                code="auth_unavailable") from None


admin.site.login_form = StaffLoginForm
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class StaffUserAdmin(UserAdmin):
    """Staff are made at their first login (common.staff_backend), never here, and who is staff
    is auth's to say; what payments owns about them is their groups and permissions."""

    list_display = ("username", "is_superuser", "last_login")
    list_filter = ("is_superuser", "groups")
    readonly_fields = ("username", "email", "is_staff", "is_superuser", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "email")}),
        ("From auth, at each login", {"fields": ("is_staff", "is_superuser")}),
        ("Permissions in payments", {"fields": ("groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )

    def has_add_permission(self, request) -> bool:
        return False


def money_column(cents_field: str, description: str, currency_of=lambda obj: obj.currency):
    """An admin column (and read-only detail field) showing ``cents_field`` as money."""

    @admin.display(description=description, ordering=cents_field)
    def show(_admin, obj) -> str:
        return format_money(getattr(obj, cents_field), currency_of(obj))

    return show
