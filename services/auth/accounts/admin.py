import uuid
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.core.exceptions import PermissionDenied

from . import audit, staff_jobs
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
    readonly_fields = ("id", "tier", "date_joined", "last_login", "jobs_and_images")
    fieldsets = (
        (None, {"fields": ("id", "email", "password", "jobs_and_images")}),
        ("Account", {"fields": ("tier", "tier_override", "tier_change_reason", "email_verified")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    actions = ["end_sessions"]

    @admin.display(description="Jobs and images")
    def jobs_and_images(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return format_html('<a href="{}">this person\'s jobs and images</a>', _jobs_url(str(obj.pk)))

    def get_urls(self):
        return [
            path("jobs/", self.admin_site.admin_view(self.jobs_view), name="accounts_user_jobs"),
            path("jobs/remove-image/", self.admin_site.admin_view(self.remove_image_view), name="accounts_user_jobs_remove"),
            *super().get_urls(),
        ]

    def jobs_view(self, request):
        """Any person's jobs and images (pre_inference's, through its staff API), by e-mail
        address, user id, job id or image id."""
        if not self.has_view_permission(request):
            raise PermissionDenied  # the page names people: as for the list of users
        query = request.GET.get("q", "").strip()
        search = staff_jobs.read_search(query) if query else None
        page, problem = None, None
        if query and search is None:
            problem = "No person has that e-mail address, and it is not an id."
        elif search is not None:
            try:
                page = staff_jobs.find_jobs(request.user, search, request.GET.get("cursor") or None)
            except staff_jobs.StaffApiError as exc:
                problem = f"Jobs cannot be shown right now: {exc}."
        context = {**self.admin_site.each_context(request), "title": "Jobs and images", "opts": self.model._meta,
                   "query": query, "search": search, "page": page, "problem": problem,
                   "remove_url": reverse("admin:accounts_user_jobs_remove")}
        return TemplateResponse(request, "admin/accounts/staff_jobs.html", context)

    def remove_image_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return _remove_image(request)

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


def _jobs_url(query: str) -> str:
    return f"{reverse('admin:accounts_user_jobs')}?{urlencode({'q': query})}"


@require_POST
def _remove_image(request):
    back = _jobs_url(request.POST.get("q", ""))
    try:
        image_id = uuid.UUID(request.POST.get("image", ""))
    except ValueError:
        messages.error(request, "That is not an image id.")
        return HttpResponseRedirect(back)
    try:
        removed = staff_jobs.remove_image(request.user, image_id)
    except staff_jobs.StaffApiError as exc:
        messages.error(request, f"The image was not removed: {exc}.")
    else:
        messages.success(request, "Image removed." if removed else "That image was already gone.")
    return HttpResponseRedirect(back)


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
