"""Tests of the sans-I/O protocol core (a package so test module names cannot clash)."""
