from rest_framework import serializers

from ..models import Customer


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ("user_id", "email", "created_at")
        read_only_fields = fields
