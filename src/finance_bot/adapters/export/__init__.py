"""The export formats: CSV (the fixed contract), an hledger / ledger-cli journal and a
beancount file, each written as the postings stream in (docs/adr/0018)."""
