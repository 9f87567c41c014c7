"""Pure domain rules of the member service: value validation, masking, org-tree paths.

No I/O and no transport types here, so these run unchanged in unit tests and in any caller.
"""
