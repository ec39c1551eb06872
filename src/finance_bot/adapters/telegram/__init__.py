"""The chat: aiogram routers, middlewares, presenters and message catalogues.

Pure rendering, no I/O — text and buttons from values, testable without a bot:
`presenters` (use-case results), `report_views` (reports, balances, lists), `formatting`
(amounts and dates), `keyboards` (inline buttons), `i18n` (the catalogues in locales/).
What talks to Telegram: `replies` (sends and edits messages, and loads what a
confirmation shows), `callbacks` (answers button presses), `commands` (the command menu),
`session` and `polling` (HTTP and long-polling); `routers/` hold the handlers and
`dispatcher` puts them in order behind the middleware.
"""
