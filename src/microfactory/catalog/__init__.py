"""Catalog: what a store sells, what it is made of, and how it is made (spec/catalog.md)."""
