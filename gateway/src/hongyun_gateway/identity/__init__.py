"""The gateway's own identity store (schema ``identity``): accounts and refresh tokens."""
