"""The consoles: the peer leaders' (`/leaders/`) and the CSOs' and admins' (`/admin/`), and each
person's own account (`/account`). Every view here declares its roles with `@requires`."""
