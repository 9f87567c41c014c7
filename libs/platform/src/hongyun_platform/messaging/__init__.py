"""Events: envelope, transactional outbox + relay, idempotent consumers, stream provisioning."""
