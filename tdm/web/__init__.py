"""The web app (``tdm serve``): the data managers' workspace, the coordinator's and analysts' pages.

* :mod:`tdm.web.accounts` - accounts and sessions (their own SQLite database under the home);
* :mod:`tdm.web.security` - security headers, CSRF tokens, serving files only from inside the home;
* :mod:`tdm.web.auth` - who may see what (one place), rendering with the session's token;
* :mod:`tdm.web.data` - what the pages show, read from the read-only snapshot;
* :mod:`tdm.web.dropzone` - uploads into a centre's inbox, then the one ingestion path;
* :mod:`tdm.web.routes_centres`, :mod:`tdm.web.routes_study` - the pages;
* :mod:`tdm.web.app` - the Starlette application (:func:`create_app`).

See ``docs/WEB.md``.
"""
