#!/bin/sh
# Fava over the nightly beancount export, read-only. The backup service writes the file
# (first at its own start, then after each night's backup); until it exists, wait for it
# rather than fail, so that `up` brings both services together in any order.
set -eu
books="${BOOKS_FILE:-/books/books.beancount}"
while [ ! -s "${books}" ]; do
    echo "waiting for ${books} (written by the backup service)"
    sleep 10
done
exec fava --read-only --host 0.0.0.0 --port 5000 "${books}"
