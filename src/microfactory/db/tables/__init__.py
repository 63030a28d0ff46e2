"""All tables, one module per capability; importing this package registers them on `Base.metadata`."""

from microfactory.db.tables import catalog, orders  # noqa: F401

try:  # capability tables added by later issues register themselves here as they land
    from microfactory.db.tables import network  # noqa: F401
except ImportError:  # pragma: no cover
    pass
try:
    from microfactory.db.tables import channels  # noqa: F401
except ImportError:  # pragma: no cover
    pass
