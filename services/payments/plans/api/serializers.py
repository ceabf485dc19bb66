from rest_framework import serializers

from ..models import CreditPack, Plan


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ("code", "name", "price_cents", "currency", "interval", "tier")
        read_only_fields = fields


class CreditPackSerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditPack
        fields = ("code", "name", "credits", "price_cents", "currency")
        read_only_fields = fields
