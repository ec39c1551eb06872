"""The books as files: export and import formats."""
