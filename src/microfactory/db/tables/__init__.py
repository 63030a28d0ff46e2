"""All tables, one module per capability; importing this package registers them on `Base.metadata`."""

import importlib

from microfactory.db.tables import catalog, orders  # noqa: F401

for _capability in ("network", "channels", "scheduling"):  # added by later capabilities as they land
    try:
        importlib.import_module(f"microfactory.db.tables.{_capability}")
    except ModuleNotFoundError as _error:
        if _error.name != f"microfactory.db.tables.{_capability}":
            raise
