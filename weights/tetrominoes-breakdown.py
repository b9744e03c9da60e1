#!/bin/sh
# The name of weights/breakdown.py before it knew Multi-dSprites (sessions 11-12).
exec "$(dirname "$0")/breakdown.py" --dataset tetrominoes "$@"
