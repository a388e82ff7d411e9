"""Sphinx extension: write the repository's address where a page says ``{{ repository_url }}``.

The address has one home, ``repository: url`` in ``_config.yml``, which Jupyter Book passes to
the theme as ``html_theme_options["repository_url"]``. MyST substitutions do not reach into
code blocks (the Introduction's ``git clone`` line), so the text is replaced as each source
file is read. A page that uses the placeholder in a book without the address fails the build.
"""

PLACEHOLDER = "{{ repository_url }}"


def _fill(app, docname, source):
    if PLACEHOLDER not in source[0]:
        return
    url = (app.config.html_theme_options or {}).get("repository_url")
    if not url:
        raise ValueError(f"{docname}: uses {PLACEHOLDER} but _config.yml has no repository url")
    source[0] = source[0].replace(PLACEHOLDER, url)


def setup(app):
    app.connect("source-read", _fill)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
