from django.db import models


class LoginFailureCounter(models.Model):
    """Failed admin logins per key (a hash of account+address, or of the address) in a
    fixed window; updated only by the single upserting statement in admin_throttle."""

    key = models.CharField(max_length=64, primary_key=True)
    failures = models.IntegerField()
    window_started = models.DateTimeField()

    class Meta:
        db_table = "atelier_django_login_failures"
