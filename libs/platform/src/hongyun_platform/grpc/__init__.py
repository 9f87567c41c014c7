"""gRPC plumbing: caller context, interceptors, error mapping, server lifecycle."""
