"""The chat: aiogram routers, middlewares, presenters and message catalogues."""
