"""Operator surfaces over HTTP: the JSON admin API."""
