"""Channels: where orders come from (a Shopify store, an ERP) and where shipments are reported back.

Each channel turns its own payloads into channel-neutral `orders.model.NewOrder`s and hands them to
`orders.service`; no channel writes order tables itself.
"""
