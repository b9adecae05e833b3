#!/bin/sh
# The pipeline end to end with the default local lake and SQLite store.
exec python3 "$(dirname "$0")/pipeline.py" sqlite
