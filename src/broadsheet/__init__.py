"""Broadsheet: a self-hosted service for keeping up with arXiv papers."""
