#!/usr/bin/env bash
# The Tetrominoes run (session 1's command): weights/train.sh tetrominoes.
exec "$(dirname "$0")/train.sh" tetrominoes
