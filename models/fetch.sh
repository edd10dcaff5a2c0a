#!/usr/bin/env bash
# Placeholder until the face-engine work lands: nothing to fetch yet.
exit 0
