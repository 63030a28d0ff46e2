"""The outbox: effects outside our database, written in the use case's transaction and sent later.

`model` is the pure core (states, backoff), `store` enqueues and shows messages, `dispatcher`
claims due messages and runs their handlers by kind (decision 0007).
"""
