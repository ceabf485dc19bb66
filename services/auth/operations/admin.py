"""The dead-letter page of the staff admin: per queue, what died and why, with replay and
drop. It calls the same library as ``python -m atelier_messaging.dead_letters``, so the
page and the command line cannot disagree about what a replay is.

Only a superuser or a holder of ``operations.manage_dead_letters`` sees or acts; actions
are POSTs through ``admin_view`` (login + CSRF)."""
from __future__ import annotations

import pika.exceptions
from atelier_kit.errors import error_body
from atelier_messaging.dead_letters import DeadLetterError, DeadLetters, consuming_queues
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from .models import DeadLetter

PERMISSION = "operations.manage_dead_letters"
SHOWN_PER_QUEUE = 50
ACTIONS = ("replay", "drop")


def may_manage(user) -> bool:
    return bool(user.is_active and user.is_staff and (user.is_superuser or user.has_perm(PERMISSION)))


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    # The page is not a model list: nothing is added, changed or deleted through Django.
    def has_module_permission(self, request) -> bool:
        return may_manage(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return may_manage(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        info = (self.model._meta.app_label, self.model._meta.model_name)
        return [
            path("", self.admin_site.admin_view(self.changelist_view), name="%s_%s_changelist" % info),
            path("action/", self.admin_site.admin_view(self.action_view), name="%s_%s_action" % info),
        ]

    def _changelist_url(self) -> str:
        return reverse("admin:operations_deadletter_changelist")

    def changelist_view(self, request, extra_context=None):
        if not may_manage(request.user):
            raise PermissionDenied
        queues, broker_error = [], None
        try:
            with DeadLetters(settings.ATELIER_AMQP_URL) as dead:
                for summary in dead.summaries():
                    letters = dead.peek(summary.queue, limit=SHOWN_PER_QUEUE) if summary.count else []
                    queues.append({"summary": summary, "letters": letters})
        except (pika.exceptions.AMQPError, OSError) as exc:
            broker_error = f"the broker cannot be reached: {exc!r}"
        context = {
            **self.admin_site.each_context(request),
            "title": "Dead letters",
            "opts": self.model._meta,
            "queues": queues,
            "broker_error": broker_error,
            "shown_per_queue": SHOWN_PER_QUEUE,
            "action_url": reverse("admin:operations_deadletter_action"),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/operations/dead_letters.html", context)

    def action_view(self, request):
        if not may_manage(request.user):
            raise PermissionDenied
        return _act(request, self._changelist_url())


def _invalid(fields: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse(error_body("validation_error", "the action is not valid", fields), status=400)


@require_POST
def _act(request, back_to: str):
    queue, action = request.POST.get("queue", ""), request.POST.get("action", "")
    ids = [i for i in request.POST.getlist("id") if i]
    everything = request.POST.get("all") == "1"
    fields: dict[str, list[str]] = {}
    if queue not in consuming_queues():
        fields["queue"] = ["not a consuming queue"]
    if action not in ACTIONS:
        fields["action"] = [f"one of {', '.join(ACTIONS)}"]
    if everything == bool(ids):
        fields["id"] = ["give message ids or all=1, not both"]
    if fields:
        return _invalid(fields)
    try:
        with DeadLetters(settings.ATELIER_AMQP_URL) as dead:
            done = getattr(dead, action)(queue, ids=ids, all=everything)
    except DeadLetterError as exc:
        messages.error(request, f"{action} failed: {exc.message}")
        return HttpResponseRedirect(back_to)
    except (pika.exceptions.AMQPError, OSError) as exc:
        messages.error(request, f"{action} failed, the broker cannot be reached: {exc!r}")
        return HttpResponseRedirect(back_to)
    verb = "replayed" if action == "replay" else "dropped"
    messages.success(request, f"{queue}: {verb} {len(done)} message(s)")
    missing = sorted(set(ids) - set(done))
    if missing:
        messages.warning(request, f"{queue}: no longer dead (handled or removed meanwhile): {', '.join(missing)}")
    return HttpResponseRedirect(back_to)
