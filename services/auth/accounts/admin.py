from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from . import audit
from .models import AuditEntry, EmailVerificationToken, PasswordResetToken, User


class UserCreationAdminForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeAdminForm(UserChangeForm):
    tier_change_reason = forms.CharField(
        required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when the tier override changes; kept in the audit log.",
    )

    class Meta:
        model = User
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if "tier_override" in self.changed_data and not (cleaned.get("tier_change_reason") or "").strip():
            self.add_error("tier_change_reason", "say why the tier is overridden")
        return cleaned


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ("-date_joined",)
    list_display = ("email", "tier", "tier_override", "email_verified", "is_active", "is_staff", "date_joined")
    list_filter = ("tier", "tier_override", "email_verified", "is_active", "is_staff")
    search_fields = ("email",)
    # The effective tier is derived (tiers.services); staff set the override instead.
    readonly_fields = ("id", "tier", "date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Account", {"fields": ("tier", "tier_override", "tier_change_reason", "email_verified")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    actions = ["end_sessions"]

    @admin.action(description="Log the selected people out everywhere (end every session now)")
    def end_sessions(self, request, queryset):
        from .lifecycle import end_sessions

        people = list(queryset)
        for person in people:
            with transaction.atomic():  # one person at a time: each takes its own user lock
                end_sessions(person, reason="admin")
                audit.record("sessions.revoked", target=person, actor=request.user)
        self.message_user(request, f"every session of {len(people)} person(s) ended", messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        from tiers.services import set_staff_override

        if not change or "tier_override" not in form.changed_data:
            return super().save_model(request, obj, form, change)
        wanted = obj.tier_override
        obj.tier_override = form.initial.get("tier_override")  # the service makes the change, audited
        super().save_model(request, obj, form, change)
        updated = set_staff_override(obj.pk, wanted or None, actor=request.user,
                                     reason=form.cleaned_data["tier_change_reason"].strip())
        obj.tier, obj.tier_override = updated.tier, updated.tier_override


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EmailVerificationToken, PasswordResetToken)
class OneTimeTokenAdmin(_ReadOnly):
    list_display = ("user", "created_at", "expires_at", "used_at")
    list_select_related = ("user",)
    search_fields = ("user__email",)


@admin.register(AuditEntry)
class AuditEntryAdmin(_ReadOnly):
    list_display = ("created_at", "action", "target_email", "old_value", "new_value", "actor_email")
    list_filter = ("action",)
    search_fields = ("target_email", "actor_email", "reason")
    date_hierarchy = "created_at"
