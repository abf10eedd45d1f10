"""Tests of the JSON API, its tokens, feeds and webhooks."""
