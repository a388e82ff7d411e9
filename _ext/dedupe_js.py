"""Sphinx extension: drop repeated <script> entries from every page.

sphinx-thebe 0.3.1 adds its configuration script on ``env-before-read-docs``, which a
Jupyter Book build emits twice, so every page declared ``const THEBE_JS_URL`` twice and the
browser stopped with "Identifier 'THEBE_JS_URL' has already been declared" (found by
``scripts/check_book.py``). Keeping the first of identical entries fixes it.
"""


def _dedupe(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        # the same script may come once with filename None and once with "" (a body only)
        key = (getattr(script, "filename", str(script)) or "",
               repr(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
