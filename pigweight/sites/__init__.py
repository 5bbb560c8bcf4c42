"""Sites and the central service over NATS JetStream (issue 21).

A site writes what it records into its outbox (`outbox.py`) in the record's own transaction;
its publisher (`publisher.py`) moves the outbox into the site's local JetStream stream, which
the hub sources while the link is up (`streams.py`). The central service (`central.py`)
takes each site's sourced stream into its own tables, once; `central_book.py` reads them.
"""
