"""No tables: a model only so that the admin lists the dead-letter page and Django has a
permission to grant for it (``operations.manage_dead_letters``)."""
from django.db import models


class DeadLetter(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("manage_dead_letters", "Can list, replay and drop dead letters")]
        verbose_name = "dead letter"
        verbose_name_plural = "dead letters"
