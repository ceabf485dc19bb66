from django import forms
from django.contrib import admin, messages
from django.db import transaction

from accounts import audit

from . import services
from .models import LIMIT_BOUNDS, ApiKey


class ApiKeyAdminForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("name", "tier_override", "limits")

    def clean_limits(self):
        limits = self.cleaned_data.get("limits")
        if limits in (None, {}):
            return None
        if not isinstance(limits, dict):
            raise forms.ValidationError("an object such as {\"requests_per_minute\": 1200}")
        for name, value in limits.items():
            if name not in LIMIT_BOUNDS:
                raise forms.ValidationError(f"unknown limit {name!r}; known: {', '.join(LIMIT_BOUNDS)}")
            low, high = LIMIT_BOUNDS[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise forms.ValidationError(f"{name} must be an integer from {low} to {high}")
        return limits


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyAdminForm
    list_display = ("prefix", "name", "user", "tier_override", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("tier_override",)
    list_select_related = ("user",)
    search_fields = ("prefix", "name", "user__email")
    readonly_fields = ("id", "user", "prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at", "rotated_to")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created by their owners, so the secret reaches only them

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the row is the record of what the key did

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            for field in ("tier_override", "limits"):
                if field in form.changed_data:
                    audit.record(f"api_key.{field}", target=obj.user, actor=request.user,
                                 old=form.initial.get(field), new=getattr(obj, field), reason=obj.prefix)
            super().save_model(request, obj, form, change)

    @admin.action(description="Revoke the selected API keys now")
    def revoke(self, request, queryset):
        count = services.staff_revoke(queryset.values_list("pk", flat=True), actor=request.user)
        self.message_user(request, f"{count} key(s) revoked", messages.SUCCESS)
