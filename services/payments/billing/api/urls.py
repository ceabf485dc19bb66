from django.urls import re_path

from .views import (CancelSubscriptionView, ChangePlanView, CheckoutView, InvoiceListView, LedgerView,
                    PlanChangePreviewView, ResumeSubscriptionView, SubscriptionView, WebhookView)

urlpatterns = [
    re_path(r"^checkout/?$", CheckoutView.as_view(), name="checkout"),
    re_path(r"^subscription/?$", SubscriptionView.as_view(), name="subscription"),
    re_path(r"^subscription/cancel/?$", CancelSubscriptionView.as_view(), name="subscription-cancel"),
    re_path(r"^subscription/resume/?$", ResumeSubscriptionView.as_view(), name="subscription-resume"),
    re_path(r"^subscription/change-preview/?$", PlanChangePreviewView.as_view(), name="subscription-change-preview"),
    re_path(r"^subscription/change/?$", ChangePlanView.as_view(), name="subscription-change"),
    re_path(r"^invoices/?$", InvoiceListView.as_view(), name="invoices"),
    re_path(r"^ledger/?$", LedgerView.as_view(), name="ledger"),
    re_path(r"^webhooks/sandbox/?$", WebhookView.as_view(provider_name="sandbox"), name="webhook-sandbox"),
    re_path(r"^webhooks/stripe/?$", WebhookView.as_view(provider_name="stripe"), name="webhook-stripe"),
]
