"""The admin web app at ``/admin``: static files only, a client of the public REST API."""
