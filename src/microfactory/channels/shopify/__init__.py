"""The Shopify channel: signed webhooks into a durable inbox, mapping to catalog products, the
fulfillment-service callbacks, fulfilment back-sync and reconciliation through the Admin API."""
