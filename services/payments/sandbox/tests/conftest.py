# The catalogue, customer and token fixtures are billing's; the page is exercised with them.
from billing.tests.conftest import auth, customer, pack, pro_plan  # noqa: F401
