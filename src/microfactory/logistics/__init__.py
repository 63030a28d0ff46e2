"""Logistics: carriers and couriers that take finished goods to the customer."""
