"""OpenAPI description of our Bearer authentication (drf-spectacular discovers this
extension once the module is imported, which CommonConfig.ready does)."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "common.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An access token from auth (RS256, verified against its JWKS)."}
