"""The database itself refuses every violation of the ledger's invariants
(docs/adr/0002); one file per rule family, one test per rule.

These tests go around the application: raw SQL through asyncpg, as a buggy writer or an
operator at a psql prompt would send it. Each refused case asserts the specific error the
server raises and then that nothing was written, so a test cannot pass because some other,
earlier error happened to fire. A positive control shows the helpers can book at all.
"""
