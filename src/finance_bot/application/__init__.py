"""Use cases: one function each; each opens a unit of work, does the work, commits."""
