"""Mail templates: Jinja2 (autoescaped HTML and plain text), formatted per language with Babel."""
