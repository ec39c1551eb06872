"""The books as files: CSV (the fixed contract), an hledger / ledger-cli journal and a
beancount file, each written as the postings stream in (docs/adr/0018), and the CSV read
back for `finance-bot import` (docs/adr/0019)."""
