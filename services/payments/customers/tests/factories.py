import uuid

import factory
from factory.django import DjangoModelFactory

from customers.models import Customer


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    user_id = factory.LazyFunction(uuid.uuid4)
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
