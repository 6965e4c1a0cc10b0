"""Imports every models module so ``Base.metadata`` knows all tables (Alembic, tests)."""

from __future__ import annotations


def load() -> None:
    from backroom.auth import models as _auth  # noqa: F401
    from backroom.cart import models as _cart  # noqa: F401
    from backroom.catalog import models as _catalog  # noqa: F401
    from backroom.coupons import models as _coupons  # noqa: F401
    from backroom.events import models as _events  # noqa: F401
    from backroom.idempotency import models as _idempotency  # noqa: F401
    from backroom.inventory import models as _inventory  # noqa: F401
    from backroom.jobs import models as _jobs  # noqa: F401
    from backroom.orders import models as _orders  # noqa: F401
    from backroom.reports import models as _reports  # noqa: F401
    from backroom.users import models as _users  # noqa: F401
    from backroom.webhooks import models as _webhooks  # noqa: F401
