"""Hongyun HTTP gateway: authentication, tenant resolution and REST ↔ gRPC mapping.

The gateway holds no business rules; it owns only the identity store (accounts and refresh
tokens, schema ``identity``), see docs/adr/0005-identity-in-gateway.md.
"""
