"""Request/response bodies of the REST API (XCreate / XUpdate / XRead / XPage)."""
