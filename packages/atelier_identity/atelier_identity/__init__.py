"""Verification of auth-signed access tokens, shared by the gateway and every service
that receives requests. Signing stays in auth alone."""
from .tokens import ISSUER, AUDIENCE, Identity, TokenError, TokenVerifier

__all__ = ["AUDIENCE", "ISSUER", "Identity", "TokenError", "TokenVerifier"]
