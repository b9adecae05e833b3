#!/bin/sh
# The pipeline end to end with an S3 lake (s3rver) and PostgreSQL 15.
exec python3 "$(dirname "$0")/pipeline.py" postgres
